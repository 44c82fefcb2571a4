import 'reflect-metadata';
import { DynamicModule, INestApplication, INestApplicationContext, Logger, Module, type ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApiModule, guardBrowserRequests, ProblemFilter } from '@tributary/api';
import { CaptureModule } from '@tributary/capture';
import { CatalogModule } from '@tributary/catalog';
import { ConfigError, ConfigModule, loadConfig, type TributaryConfig } from '@tributary/config';
import { MetricsModule } from '@tributary/metrics';
import { StoreModule } from '@tributary/store';
import { WorkerModule } from '@tributary/worker';
import { limitHeapGrowth } from './heap-growth';
import { AppLogging } from './logging/app-logging';
import { platformReadingsProvider } from './platform-readings.provider';
import { StandaloneMetrics } from './standalone-metrics';

/** How long a shutdown may take before the process gives up on draining (Kubernetes' default grace is 30 s). */
const SHUTDOWN_LIMIT_MS = 25_000;

export type Role = 'api' | 'capture' | 'worker';
export const ALL_ROLES: Role[] = ['api', 'capture', 'worker'];

@Module({})
class RootModule {
  static forRoles(config: TributaryConfig, roles: Role[], logging: AppLogging): DynamicModule {
    const imports: ModuleMetadata['imports'] = [
      ...logging.imports(),
      ConfigModule.forRoot(config),
      StoreModule.forRoot(),
      CatalogModule,
      MetricsModule.forRoot(platformReadingsProvider),
    ];
    if (roles.includes('capture')) imports.push(CaptureModule);
    if (roles.includes('worker')) imports.push(WorkerModule);
    if (roles.includes('api')) imports.push(ApiModule);
    // The api role serves /metrics on its own port; the others on TRIBUTARY_METRICS_PORT, if set.
    const providers = roles.includes('api') ? [] : [StandaloneMetrics];
    return { module: RootModule, imports, providers };
  }
}

/** Builds (without starting to listen) a Nest application for the given roles. */
export async function createApp(config: TributaryConfig, roles: Role[]): Promise<INestApplicationContext> {
  const logging = new AppLogging(config);
  const module = RootModule.forRoles(config, roles, logging);
  if (!roles.includes('api')) {
    const context = await NestFactory.createApplicationContext(module, logging.factoryOptions());
    logging.attach(context);
    return context;
  }
  // Nest's own parsers would also read form bodies, which any web page can post: JSON only, behind the guard.
  const app = await NestFactory.create(module, { ...logging.factoryOptions(), bodyParser: false });
  logging.attach(app);
  app.useGlobalFilters(new ProblemFilter());
  guardBrowserRequests(app, config.api);
  return app;
}

/**
 * Starts one process with the given roles from the one provider set: the all-in-one app passes every
 * role, the per-role apps one each. Configuration is loaded and validated here, once.
 */
export async function bootstrap(roles: Role[]): Promise<void> {
  let config: TributaryConfig;
  try {
    config = loadConfig();
    if (roles.includes('api')) requireTokenBeyondLoopback(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = new Logger('Tributary');
  const app = await createApp(config, roles);
  // SIGINT and SIGTERM close the app in order, then exit with 0 (re-raising the signal would not): the
  // roles stop taking work, cancel their statements on the sources and drain (beforeApplicationShutdown),
  // the HTTP server closes, and only then the platform pools and the embedded Postgres
  // (onApplicationShutdown), so nothing still running finds its database gone.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
  // A drain that cannot finish (a database that does not answer) must not keep the process alive forever.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        process.stderr.write(`shutdown did not finish within ${SHUTDOWN_LIMIT_MS / 1000} s after ${signal}: exiting\n`);
        process.exit(1);
      }, SHUTDOWN_LIMIT_MS).unref();
    });
  }
  if (roles.includes('api')) {
    await (app as INestApplication).listen(config.api.port, config.api.host);
    logger.log(`API listening on http://${config.api.host}:${config.api.port} (roles: ${roles.join(', ')})`);
  } else {
    await app.init();
    logger.log(`started (roles: ${roles.join(', ')})`);
  }
}

export function runMain(roles: Role[]): void {
  limitHeapGrowth();
  bootstrap(roles).catch((error: Error) => {
    process.stderr.write(`Tributary failed to start: ${error.message}\n`);
    process.exit(1);
  });
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Without a token the API is open; that is only acceptable when nothing but this machine can reach it. */
function requireTokenBeyondLoopback(config: TributaryConfig): void {
  if (config.api.adminToken || LOOPBACK.has(config.api.host)) return;
  throw new ConfigError(
    `Invalid environment:\n  - TRIBUTARY_ADMIN_TOKEN: required when the API listens on ${config.api.host} (not loopback); ` +
      'without it anyone who can reach the port could administer the platform',
  );
}
