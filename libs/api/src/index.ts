export { ApiModule } from './api.module';
export { ProblemFilter } from './problem.filter';
export { guardBrowserRequests } from './browser-requests';
