import { Logger } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foreignHostName, type TributaryConfig } from '@tributary/config';
import type { MetricsService } from './metrics.service';

/** Why a scrape presenting this `Authorization` header is refused (401), or undefined to serve it. */
export type ScrapeAuthorization = (authorization: string | undefined) => Promise<string | undefined>;

export interface MetricsServerOptions {
  /** Where to listen, and the names answered in `Host` (the API's rule). */
  api: Pick<TributaryConfig['api'], 'host' | 'allowedHosts'>;
  port: number;
  /** The API's token rule, passed in by the runtime (this library does not know the API). */
  authorize: ScrapeAuthorization;
}

/**
 * /metrics for processes without the api role (a worker or capture on its own), so their in-process
 * counters (deliveries, latency, capture state) can be scraped too. The series name every source, topic
 * and group, so it answers as the API's /metrics does: not to a foreign `Host` (a DNS-rebinding page,
 * 421) and, once authentication is on, only with a token (401).
 */
export async function serveMetrics(
  metrics: MetricsService,
  options: MetricsServerOptions,
): Promise<{ server: Server; port: number }> {
  const logger = new Logger('Metrics');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrape(req, res, metrics, options).catch((error: Error) => {
      logger.error(`scrape failed: ${error.message}`);
      problem(res, 500, 'Internal Server Error', { detail: 'unexpected error; see the server log' });
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.api.host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function scrape(req: IncomingMessage, res: ServerResponse, metrics: MetricsService, options: MetricsServerOptions) {
  const foreign = foreignHostName(req.headers.host, options.api);
  if (foreign !== undefined)
    return problem(res, 421, 'Misdirected Request', {
      detail: `this server does not answer to the host name in Host (${foreign}); add it to TRIBUTARY_API_ALLOWED_HOSTS if it is yours`,
      field: 'Host',
    });
  const refused = await options.authorize(req.headers.authorization);
  if (refused !== undefined) return problem(res, 401, 'Unauthorized', { detail: refused });
  const text = await metrics.render();
  res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
}

/** An RFC 9457 problem document, shaped as the API's (ProblemFilter). */
function problem(res: ServerResponse, status: number, title: string, extra: { detail: string; field?: string }): void {
  if (res.headersSent) return void res.destroy();
  res
    .writeHead(status, { 'content-type': 'application/problem+json' })
    .end(JSON.stringify({ type: 'about:blank', status, title, ...extra }));
}
