export { WorkerModule } from './worker.module';
export { WorkerService } from './worker.service';
export { GroupRunner, type RunnerStats } from './group-runner';
export { TargetRecovery } from './target-recovery';
export { deliverInKeyLanes } from './key-lanes';
