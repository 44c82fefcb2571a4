import type { INestApplicationContext, LoggerService, LogLevel as NestLogLevel, ModuleMetadata } from '@nestjs/common';
import type { LogLevel, TributaryConfig } from '@tributary/config';
import { Logger as PinoNestLogger, LoggerModule, PinoLogger, type Params } from 'nestjs-pino';
import { jsonLoggerParams } from './json-logger-params';
import { RedactingConsoleLogger } from './redacting-console-logger';

const NEST_LEVELS: NestLogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];

/** The levels Nest logs at `level`: it and every more severe one. */
function levelsUpTo(level: LogLevel): NestLogLevel[] {
  return NEST_LEVELS.slice(0, NEST_LEVELS.indexOf(level) + 1);
}

/**
 * The process's logger, chosen by TRIBUTARY_LOG_FORMAT. Every `new Logger(context)` in the code base
 * writes through it. `text`: Nest's lines (RedactingConsoleLogger). `json`: nestjs-pino, whose module
 * also logs each HTTP request. The pino logger is handed to NestFactory from the start rather than
 * buffering until the application is built: start-up lines keep their own time, and a start-up that
 * fails (Nest logs the error and exits before there is an application) is still written as JSON,
 * with its secrets masked.
 */
export class AppLogging {
  private readonly params?: Params;

  constructor(private readonly config: Pick<TributaryConfig, 'logFormat' | 'logLevel'>) {
    if (config.logFormat === 'json') this.params = jsonLoggerParams(config.logLevel);
  }

  /** Modules the root module imports. */
  imports(): NonNullable<ModuleMetadata['imports']> {
    return this.params ? [LoggerModule.forRoot(this.params)] : [];
  }

  /** NestFactory's logging options. */
  factoryOptions(): { logger: LoggerService } {
    // Both loggers write through nestjs-pino's one root pino logger of the process.
    if (this.params) return { logger: new PinoNestLogger(new PinoLogger(this.params), this.params) };
    return { logger: new RedactingConsoleLogger({ logLevels: levelsUpTo(this.config.logLevel) }) };
  }

  /** Hands the built application's logging to its own nestjs-pino Logger (json), the documented set-up. */
  attach(app: INestApplicationContext): void {
    if (this.params) app.useLogger(app.get(PinoNestLogger));
  }
}
