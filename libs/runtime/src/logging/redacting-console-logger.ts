import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { scrubSecrets } from './secret-scrubber';

/**
 * Nest's own human-readable lines (`TRIBUTARY_LOG_FORMAT=text`, the default), with every line and stack
 * trace passed through scrubSecrets before it is written.
 */
export class RedactingConsoleLogger extends ConsoleLogger {
  protected override formatMessage(
    logLevel: LogLevel,
    message: unknown,
    pidMessage: string,
    formattedLogLevel: string,
    contextMessage: string,
    timestampDiff: string,
  ): string {
    return scrubSecrets(super.formatMessage(logLevel, message, pidMessage, formattedLogLevel, contextMessage, timestampDiff));
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack && scrubSecrets(stack));
  }
}
