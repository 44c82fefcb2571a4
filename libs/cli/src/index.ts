export { runCli, USAGE } from './cli';
export { ApiClient, CliError } from './api-client';
