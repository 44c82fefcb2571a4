import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { BrokerTarget } from '../support/broker-bench';

const URL = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const server = URL.replace(/^nats:\/\//, '');

/** The stream and subjects of a run: the sink's subjects, and the plain client's beside them. */
const stream = (runId: string) => `BENCH_${runId}`;
const prefix = (runId: string) => `bench_${runId}`;

async function withManager<T>(work: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: server });
  try {
    return await work(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}

/** NATS JetStream on the machine's server: one stream per run, file storage, one replica. */
export const target: BrokerTarget = {
  name: 'NATS JetStream',

  setUp: (runId) =>
    withManager(async (jsm) => {
      await jsm.streams.add({ name: stream(runId), subjects: [`${prefix(runId)}.>`], num_replicas: 1 });
    }),

  sink: (runId) => ({
    type: 'nats',
    url: URL,
    stream: stream(runId),
    subject: `${prefix(runId)}.{topic}.{partition}`,
    createStream: false,
  }),

  // What a careful user does: asynchronous publishes, many in flight, acknowledgements awaited in windows.
  async plainPublish(runId, bodies) {
    const nc = await connect({ servers: server });
    try {
      const js = jetstream(nc);
      const window = 1_000;
      for (let i = 0; i < bodies.length; i += window) {
        await Promise.all(bodies.slice(i, i + window).map((b, j) => js.publish(`${prefix(runId)}.plain.${(i + j) % 4}`, b)));
      }
    } finally {
      await nc.close();
    }
  },

  readCount: (runId) =>
    withManager(async (jsm) => {
      const info = await jsm.streams.info(stream(runId), { subjects_filter: `${prefix(runId)}.>` });
      const subjects = info.state.subjects ?? {};
      return Object.entries(subjects)
        .filter(([s]) => !s.startsWith(`${prefix(runId)}.plain.`))
        .reduce((n, [, c]) => n + c, 0);
    }),

  async consume(runId, onBody) {
    const nc = await connect({ servers: server });
    const js = jetstream(nc);
    const consumer = await js.consumers.get(stream(runId));
    const messages = await consumer.consume();
    const done = (async () => {
      for await (const m of messages) if (!m.subject.startsWith(`${prefix(runId)}.plain.`)) onBody(m.string());
    })();
    return async () => {
      await messages.close();
      await done.catch(() => undefined);
      await nc.close();
    };
  },

  tearDown: (runId) =>
    withManager(async (jsm) => {
      await jsm.streams.delete(stream(runId)).catch(() => undefined);
    }),
};
