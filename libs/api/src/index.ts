export { ApiModule } from './api.module';
export { Authentication, TokenRepository } from './auth';
export { ProblemFilter } from './problem.filter';
export { guardBrowserRequests } from './browser-requests';
export * as ApiResponses from './openapi/responses.schema';
