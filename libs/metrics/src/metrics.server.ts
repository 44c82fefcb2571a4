import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsService } from './metrics.service';

/**
 * /metrics for processes without the api role (a worker or capture on its own), so their in-process
 * counters (deliveries, latency, capture state) can be scraped too.
 */
export async function serveMetrics(
  metrics: MetricsService,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const logger = new Logger('Metrics');
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: Error) => {
        logger.error(`scrape failed: ${error.message}`);
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
