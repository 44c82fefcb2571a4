export interface BrokerTarget {
  /** Shown in the table: 'NATS JetStream' | 'Redis Streams' | 'RabbitMQ'. */
  readonly name: string;
  /** Creates what the run needs (stream, keys, exchange + queue), all named after runId. */
  setUp(runId: string): Promise<void>;
  /** The group's `sink:` configuration for this run. */
  sink(runId: string): Record<string, unknown>;
  /** The plain client's best publish of these bodies (batched/pipelined as a careful user would), to runId's destination. */
  plainPublish(runId: string, bodies: string[]): Promise<void>;
  /** Messages readable now at runId's destination (what the sink wrote). */
  readCount(runId: string): Promise<number>;
  /** Calls onBody for each message as it becomes readable; resolves to a stop function. */
  consume(runId: string, onBody: (body: string) => void): Promise<() => Promise<void>>;
  tearDown(runId: string): Promise<void>;
}
