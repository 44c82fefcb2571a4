import { ForbiddenException, HttpException, HttpStatus, UnsupportedMediaTypeException } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { foreignHostName, type TributaryConfig } from '@tributary/config';

type ApiSettings = TributaryConfig['api'];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** `application/json` and the `+json` types (`application/merge-patch+json`, ...), as body-parser reads them. */
const JSON_TYPES = ['application/json', 'application/*+json'];
const JSON_TYPE = /^application\/(json|[a-z0-9!#$&^_.-]+\+json)$/;

/**
 * What a web page in the user's browser could make of the API, refused before anything else runs:
 * - DNS rebinding: a foreign name in `Host` (foreignHostName, shared with the standalone /metrics).
 * - Cross-site requests: a page of another origin carries `Origin` (every fetch but a plain GET, and
 *   form posts), or at least `Sec-Fetch-Site: cross-site`. Only the API's own origin and configured
 *   ones are served (CORS for those), so a page cannot even make the API do the work of a read.
 * - Form posts: a body must be JSON, so a plain HTML form (which cannot send JSON) changes nothing.
 * Installed ahead of the body parser, which reads JSON only; errors go to the problem filter.
 */
export function guardBrowserRequests(app: INestApplication, api: ApiSettings): void {
  const express = app as NestExpressApplication;
  express.use((req: Request, _res: Response, next: NextFunction) => next(refusal(req, api)));
  if (api.allowedOrigins.length)
    express.enableCors({
      origin: api.allowedOrigins,
      allowedHeaders: ['authorization', 'content-type', 'if-match'],
      exposedHeaders: ['etag'],
      maxAge: 600,
    });
  express.useBodyParser('json', { type: JSON_TYPES });
}

/** Why the request is refused, or undefined to serve it. */
function refusal(req: Request, api: ApiSettings): HttpException | undefined {
  const host = (req.headers.host ?? '').toLowerCase();
  const foreign = foreignHostName(host, api);
  if (foreign !== undefined)
    return new HttpException(
      {
        detail: `this API does not answer to the host name in Host (${foreign}); add it to TRIBUTARY_API_ALLOWED_HOSTS if it is yours`,
        field: 'Host',
      },
      HttpStatus.MISDIRECTED,
    );
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigin(origin, host, api))
    return new ForbiddenException({
      detail: `requests from web pages of ${origin} are not accepted; add the origin to TRIBUTARY_API_ALLOWED_ORIGINS if it is yours`,
      field: 'Origin',
    });
  if (SAFE_METHODS.has(req.method)) return undefined;
  const site = req.headers['sec-fetch-site'];
  if (origin === undefined && (site === 'cross-site' || site === 'same-site'))
    return new ForbiddenException({ detail: 'changes from web pages of other sites are not accepted', field: 'Sec-Fetch-Site' });
  return bodyRefusal(req);
}

/** A write's body must be JSON; a write without a body is fine. */
function bodyRefusal(req: Request): HttpException | undefined {
  const type = req.headers['content-type'];
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (type === undefined ? !hasBody : JSON_TYPE.test(type.split(';')[0].trim().toLowerCase())) return undefined;
  return new UnsupportedMediaTypeException({
    detail: `request bodies must be JSON (Content-Type: application/json), not ${type ?? 'untyped'}`,
    field: 'Content-Type',
  });
}

/** The API's own origin (its pages, /docs) has the request's Host as its host; others must be configured. */
function allowedOrigin(origin: string, host: string, api: ApiSettings): boolean {
  if (api.allowedOrigins.includes(origin.toLowerCase())) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // `null` (sandboxed frames, file: pages) or garbage
  }
}
