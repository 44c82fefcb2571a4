import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';

/** Every error as RFC 9457 problem+json; unexpected ones are logged and reported without internals. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Api');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let body: Record<string, unknown> = { title: 'Internal Server Error', detail: 'unexpected error; see the server log' };
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const response = exception.getResponse();
      const extra = typeof response === 'object' ? (response as Record<string, unknown>) : { detail: response };
      body = { title: reasonPhrase(status), ...extra };
      delete body.statusCode;
      delete body.error; // Nest's copy of the reason phrase
      if (body.message && !body.detail) {
        body.detail = body.message;
        delete body.message;
      }
    } else if (isClientError(exception)) {
      // Errors raised before routing (body-parser: malformed or oversized bodies) carry their own 4xx.
      status = exception.status;
      body = { title: reasonPhrase(status), detail: exception.message };
    } else {
      this.logger.error((exception as Error)?.stack ?? String(exception));
    }
    res
      .status(status)
      .type('application/problem+json')
      .json({ type: 'about:blank', status, ...body });
  }
}

/** Where Nest's name is not the RFC 9110 reason phrase. */
const PHRASES: Record<number, string> = { [HttpStatus.MISDIRECTED]: 'Misdirected Request' };

/** `BAD_REQUEST` -> `Bad Request`. */
function reasonPhrase(status: number): string {
  if (PHRASES[status]) return PHRASES[status];
  const name = HttpStatus[status];
  if (!name) return 'Error';
  return name
    .split('_')
    .map((w) => w[0] + w.slice(1).toLowerCase())
    .join(' ');
}

function isClientError(e: unknown): e is { status: number; message: string } {
  const status = (e as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && (e as { expose?: boolean }).expose === true;
}
