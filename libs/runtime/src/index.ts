export { bootstrap, createApp, runMain, ALL_ROLES, type Role } from './bootstrap';
export { StandaloneMetrics } from './standalone-metrics';
