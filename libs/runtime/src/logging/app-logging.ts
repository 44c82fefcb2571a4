import {
  Logger as NestLogger,
  type INestApplicationContext,
  type LogLevel as NestLogLevel,
  type ModuleMetadata,
} from '@nestjs/common';
import type { LogLevel, TributaryConfig } from '@tributary/config';
import { Logger as PinoNestLogger, LoggerModule, PinoLogger } from 'nestjs-pino';
import { jsonLoggerParams } from './json-logger.params';
import { RedactingConsoleLogger } from './redacting-console.logger';

const NEST_LEVELS: NestLogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

/** The levels Nest logs at `level`: it and every more severe one. */
function levelsUpTo(level: LogLevel): NestLogLevel[] {
  return NEST_LEVELS.slice(0, NEST_LEVELS.indexOf(level) + 1);
}

/**
 * The process's logger, chosen by TRIBUTARY_LOG_FORMAT. Every `new Logger(context)` in the code base
 * writes through it. `text`: Nest's lines (RedactingConsoleLogger). `json`: nestjs-pino, whose module
 * also logs each HTTP request; Nest buffers what is logged while the application is built and writes
 * it through pino once `attach` hands pino over.
 */
export class AppLogging {
  constructor(private readonly config: Pick<TributaryConfig, 'logFormat' | 'logLevel'>) {}

  private get json(): boolean {
    return this.config.logFormat === 'json';
  }

  /** Modules the root module imports. */
  imports(): NonNullable<ModuleMetadata['imports']> {
    return this.json ? [LoggerModule.forRoot(jsonLoggerParams(this.config.logLevel))] : [];
  }

  /** NestFactory's logging options. */
  factoryOptions(): { logger?: RedactingConsoleLogger; bufferLogs?: boolean } {
    if (this.json) return { bufferLogs: true };
    return { logger: new RedactingConsoleLogger({ logLevels: levelsUpTo(this.config.logLevel) }) };
  }

  /** Hands the built application's logging to pino (json). */
  attach(app: INestApplicationContext): void {
    if (this.json) app.useLogger(app.get(PinoNestLogger));
  }

  /**
   * When the application could not be built there is nothing to `attach`: what Nest buffered is
   * written by a pino logger of the same parameters, so the failure's log lines are not lost.
   */
  flushAfterFailure(): void {
    if (!this.json) return;
    const params = jsonLoggerParams(this.config.logLevel);
    NestLogger.overrideLogger(new PinoNestLogger(new PinoLogger(params), params));
    NestLogger.flush();
  }
}
