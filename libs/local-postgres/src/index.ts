export { LocalPostgres, bundledBinDir } from './local-postgres';
export type { LocalPostgresOptions } from './local-postgres';
export { freePort, systemBinDir } from './machine';
