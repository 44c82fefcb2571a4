import type { LogLevel } from '@tributary/config';
import type { Params } from 'nestjs-pino';
import { stdTimeFunctions, type DestinationStream } from 'pino';
import type { Options } from 'pino-http';
import { scrubSecrets } from './secret-scrubber';

/** Nest's level names in pino's words (`log` is pino's `info`, `verbose` its `trace`). */
const PINO_LEVELS: Record<LogLevel, string> = { error: 'error', warn: 'warn', log: 'info', debug: 'debug', verbose: 'trace' };

/** Fields that hold credentials whatever their value looks like: request headers above all. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.secret',
  '*.token',
  '*.adminToken',
];

/**
 * pino's options for `TRIBUTARY_LOG_FORMAT=json`: one JSON object per line with `level` (a name),
 * `time` (ISO 8601), `context` (the Nest logger's context, `HTTP` for request logs) and `msg`. Secrets
 * are kept out twice: credential fields are censored (`redact`) and every finished line goes through
 * scrubSecrets (`streamWrite`), which also catches a password quoted inside a message.
 */
export function jsonLoggerOptions(level: LogLevel): Options {
  return {
    level: PINO_LEVELS[level],
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '***' },
    hooks: { streamWrite: scrubSecrets },
    customSuccessObject: (_req, _res, value: object) => ({ context: 'HTTP', ...value }),
    customErrorObject: (_req, _res, _error, value: object) => ({ context: 'HTTP', ...value }),
  };
}

/** nestjs-pino's LoggerModule parameters; `destination` defaults to stdout. */
export function jsonLoggerParams(level: LogLevel, destination?: DestinationStream): Params {
  const options = jsonLoggerOptions(level);
  return { pinoHttp: destination ? [options, destination] : options };
}
