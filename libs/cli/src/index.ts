export { runCli, USAGE } from './cli';
export { ApiClient, CliError } from './api-client';
/** The backfill command on its own: with a progress sink and poll interval of the caller's (tests). */
export { backfill, type BackfillOptions } from './backfill.command';
