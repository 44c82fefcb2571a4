export { backoffDelay, NO_JITTER } from './backoff';
export { sleep, sleepUnlessAborted } from './sleep';
