export { AuthGuard } from './auth.guard';
export { AdminOnly, ConsumerWrites, MetricsAccess, Public } from './auth.decorator';
export { Authentication, type Caller } from './authentication';
export { TokenRepository } from './token.repository';
export { TokensController } from './tokens.controller';
