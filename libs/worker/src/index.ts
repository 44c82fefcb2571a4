export { WorkerModule } from './worker.module';
export { WorkerService } from './worker.service';
export { GroupRunner, type RunnerStats } from './group-runner';
export { LogSink } from './sinks/log.sink';
export type { DeliveryContext, Sink, SinkFailure } from './sinks/sink';
export { TargetRecovery } from './target-recovery';
export { deliverInKeyLanes } from './key-lanes';
