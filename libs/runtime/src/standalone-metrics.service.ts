import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Server } from 'node:http';
import { Authentication, TokenRepository } from '@tributary/api';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { MetricsService, serveMetrics, type ScrapeAuthorization } from '@tributary/metrics';
import { PlatformDatabase } from '@tributary/store';

/**
 * /metrics on TRIBUTARY_METRICS_PORT for a process without the api role, with the API's Host rule and
 * token rule (any token once authentication is on, unless TRIBUTARY_METRICS_PUBLIC): the same tokens,
 * from the platform database, as the API's /metrics takes.
 */
@Injectable()
export class StandaloneMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server?: Server;
  /** The port it listens on (TRIBUTARY_METRICS_PORT, or the one chosen for 0). */
  port?: number;

  constructor(
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(PlatformDatabase) private readonly db: PlatformDatabase,
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { api, metricsPort, metricsPublic } = this.config;
    if (metricsPort === undefined) return;
    const authentication = await Authentication.started(new TokenRepository(this.db.pool), this.config);
    const authorize: ScrapeAuthorization = async (header) => {
      if (metricsPublic) return undefined;
      const caller = await authentication.caller(header);
      return 'refused' in caller ? caller.refused : undefined;
    };
    ({ server: this.server, port: this.port } = await serveMetrics(this.metrics, { api, port: metricsPort, authorize }));
    this.logger.log(`metrics on http://${api.host}:${this.port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server) await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }
}
