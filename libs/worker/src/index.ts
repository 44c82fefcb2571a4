export { WorkerModule } from './worker.module';
export { WorkerService } from './worker.service';
export { GroupRunner, type RunnerStats } from './group-runner';
export { backoffDelay } from './backoff';
