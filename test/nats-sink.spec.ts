import type { JetStreamManager } from '@nats-io/jetstream';
import { redactGroupSpec } from '@tributary/catalog';
import { groupSchema, restoreWriteOnlySecrets, type GroupConfig } from '@tributary/config';
import { msgId, NATS_HEADERS, NatsSink, NatsSinkError } from '@tributary/nats-sink';
import type { ConsumedMessage, SinkEvent } from '@tributary/sink-contract';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, NATS_URL, natsAdmin, natsAvailable, NatsNode, streamMessages } from './support/nats';
import { waitFor } from './support/pg-cluster';

const RUN = `t${process.pid}${Date.now().toString(36)}`;

function message(offset: number, partition = 0, topic = 'src.public.accounts'): ConsumedMessage {
  return {
    topic,
    partition,
    offset: BigInt(offset),
    key: `{"id":${offset}}`,
    envelope: `{"id":"src:0/${partition}${String(offset).padStart(6, '0')}:${offset}","op":"c","key":{"id":${offset}},"after":{"id":${offset}}}`,
    appendedAt: new Date(),
    topicIncarnation: 'inc-1',
  };
}

function natsGroup(sink: Record<string, unknown>): GroupConfig {
  return groupSchema.parse({ name: 'g1', topics: ['src.public.*'], sink: { type: 'nats', url: NATS_URL, ...sink } });
}

describe('nats sink configuration', () => {
  const parse = (sink: Record<string, unknown>) =>
    groupSchema.safeParse({ name: 'g', topics: ['t'], sink: { type: 'nats', url: NATS_URL, ...sink } });
  const issue = (sink: Record<string, unknown>) => {
    const result = parse(sink);
    return result.success ? undefined : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it('has defaults and validates the subject template', () => {
    const g = natsGroup({});
    expect(g.sink).toMatchObject({
      stream: 'TRIBUTARY',
      subject: 'tributary.{source}.{schema}.{table}.{partition}',
      replicas: 1,
    });
    expect(issue({ subject: 'cdc.{table}.{partition}' })).toMatch(/sink.subject: must contain \{topic\}/);
    expect(issue({ subject: 'cdc.{topic}' })).toMatch(/must contain \{partition\}/);
    expect(issue({ subject: '{topic}.{partition}' })).toMatch(/must start with a literal token/);
    expect(issue({ subject: 'cdc.*.{topic}.{partition}' })).toMatch(/dot-separated tokens/);
    expect(issue({ subject: 'cdc.{topic}.p{partition}' })).toBeUndefined();
  });

  it('refuses URLs that would leak or lose credentials', () => {
    expect(issue({ url: 'http://127.0.0.1:4222' })).toMatch(/sink.url: must be a nats:\/\/ or tls:\/\/ URL/);
    expect(issue({ url: 'nats://s3cr3ttoken@127.0.0.1:4222' })).toMatch(/a user needs a password/);
    expect(issue({ url: 'nats://127.0.0.1:4222?password=x' })).toMatch(/unknown query parameter/);
    expect(issue({ url: 'nats://127.0.0.1:4222/path' })).toMatch(/no path/);
    expect(issue({ url: 'nats://127.0.0.1:4222?token=abc' })).toBeUndefined();
  });

  it('masks the password and token in answers and restores them only for the same server', () => {
    const g = natsGroup({ url: 'nats://app:hunter2@nats.internal:4222' });
    const shown = JSON.stringify(redactGroupSpec(g));
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('nats://app:***@nats.internal:4222');
    const t = natsGroup({ url: 'nats://nats.internal:4222?token=tok123' });
    expect(JSON.stringify(redactGroupSpec(t))).not.toContain('tok123');

    const back = (url: string, stored: GroupConfig) =>
      restoreWriteOnlySecrets({ name: 'g1', topics: ['x'], sink: { type: 'nats', url } }, { group: stored }, () => undefined) as {
        sink: { url: string };
      };
    expect(back('nats://app:***@nats.internal:4222', g).sink.url).toBe('nats://app:hunter2@nats.internal:4222');
    expect(back('nats://nats.internal:4222?token=***', t).sink.url).toBe('nats://nats.internal:4222?token=tok123');
    expect(() => back('nats://app:***@evil.example:4222', g)).toThrow(/same scheme, host/);
  });

  it('gives each partition of a truncate its own Nats-Msg-Id and others their envelope id', () => {
    const t = { ...message(5), envelope: '{"id":"src:0/1:3","op":"t","key":null}', partition: 2 };
    expect(msgId(t)).toBe('src:0/1:3@2');
    expect(msgId(message(7))).toBe('src:0/0000007:7');
  });
});

describe('nats sink on the machine broker', () => {
  let available = false;
  let admin: { jsm: JetStreamManager; close: () => Promise<void> };
  const sinks: NatsSink[] = [];
  const streams: string[] = [];

  beforeAll(async () => {
    available = await natsAvailable();
    if (available) admin = await natsAdmin();
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    for (const s of streams) await admin?.jsm.streams.delete(s).catch(() => undefined);
    await admin?.close();
  });

  function sink(name: string, extra: Record<string, unknown> = {}, events: SinkEvent[] = []): NatsSink {
    const stream = `${RUN}_${name}`;
    if (!streams.includes(stream)) streams.push(stream);
    const config = natsGroup({ stream, subject: `${stream}.{source}.{schema}.{table}.{partition}`, ...extra }).sink;
    if (config.type !== 'nats') throw new Error('not nats');
    const s = new NatsSink({ group: 'g1', config, report: (e) => Promise.resolve(void events.push(e)) });
    sinks.push(s);
    return s;
  }

  it('publishes each partition to its subject with offset headers, and resumes from the stream', async () => {
    if (!available) return;
    const s = sink('basic', { duplicateWindowMs: 100 });
    const stream = `${RUN}_basic`;
    await s.deliver([0, 1, 2].map((o) => message(o, 0)));
    await s.deliver([0, 1].map((o) => message(o, 1)));
    const all = await streamMessages(admin.jsm, stream);
    expect(all.map((m) => [m.subject, m.header?.get(NATS_HEADERS.offset)])).toEqual([
      [`${stream}.src.public.accounts.0`, '0'],
      [`${stream}.src.public.accounts.0`, '1'],
      [`${stream}.src.public.accounts.0`, '2'],
      [`${stream}.src.public.accounts.1`, '0'],
      [`${stream}.src.public.accounts.1`, '1'],
    ]);
    expect(all[0].header?.get('Nats-Msg-Id')).toBe('src:0/0000000:0');
    expect(all[0].body).toBe(message(0).envelope);

    // A new member (another sink) resumes after the last offset in the stream.
    const next = sink('basic', { duplicateWindowMs: 100 });
    expect(await next.storedPosition('src.public.accounts', 0)).toEqual({ nextOffset: 3n, topicIncarnation: 'inc-1' });
    expect(await next.storedPosition('src.public.accounts', 3)).toBeUndefined();
  });

  it('never writes an offset twice, whatever the duplicate window: a redelivery and a fenced member are skipped', async () => {
    if (!available) return;
    const stream = `${RUN}_fence`;
    const a = sink('fence', { duplicateWindowMs: 100 });
    await a.deliver([0, 1, 2, 3].map((o) => message(o)));
    // Past the duplicate window (the stream forgot a probe's msg id), so only the expected subject
    // sequence can keep the stream exact.
    const js = admin.jsm.jetstream();
    await js.publish(`${stream}.probe`, '', { msgID: 'probe' });
    await waitFor(async () => !(await js.publish(`${stream}.probe`, '', { msgID: 'probe' })).duplicate, 'the window to pass');
    const b = sink('fence', { duplicateWindowMs: 100 });
    expect(await b.storedPosition('src.public.accounts', 0)).toEqual({ nextOffset: 4n, topicIncarnation: 'inc-1' });
    await b.deliver([4, 5, 6].map((o) => message(o)));
    // a still believes the subject ends at offset 3: the fenced member delivers its stale batch again.
    await a.deliver([2, 3, 4, 5, 6, 7].map((o) => message(o)));
    await b.deliver([0, 1, 2, 3, 4, 5, 6, 7, 8].map((o) => message(o))); // a full redelivery after a crash
    const offsets = (await streamMessages(admin.jsm, stream, `${stream}.src.`)).map((m) =>
      Number(m.header?.get(NATS_HEADERS.offset)),
    );
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses a subject another group writes, and a stream that does not take the subjects', async () => {
    if (!available) return;
    const stream = `${RUN}_shared`;
    await sink('shared').deliver([message(0)]);
    const otherConfig = natsGroup({ stream, subject: `${stream}.{source}.{schema}.{table}.{partition}` }).sink;
    if (otherConfig.type !== 'nats') throw new Error('not nats');
    const other = new NatsSink({ group: 'g2', config: otherConfig });
    sinks.push(other);
    await expect(other.deliver([message(1)])).rejects.toThrow(/holds a message of group "g1"/);

    const narrow = `${RUN}_narrow`;
    streams.push(narrow);
    await admin.jsm.streams.add({ name: narrow, subjects: [`${narrow}.other.>`] });
    const wrong = sink('narrow', { stream: narrow, subject: `${narrow}.{topic}.{partition}` });
    const error = (await wrong.deliver([message(0)]).catch((e: unknown) => e)) as NatsSinkError;
    expect(error).toBeInstanceOf(NatsSinkError);
    expect(error.message).toMatch(new RegExp(`exists with subjects \\[${narrow}.other.>\\], which do not take ${narrow}.>`));
    expect(error.blockPartition).toBe(true);

    const missing = sink('missing', { createStream: false });
    await expect(missing.deliver([message(0)])).rejects.toThrow(
      /does not exist; create it with subjects .* \(createStream is false\)/,
    );
  });

  it('counts publishes, their latency and failures in the group metrics it is given', async () => {
    if (!available) return;
    const counted = { published: 0, failed: 0, latencies: 0 };
    const metrics = {
      published: (n: number) => void (counted.published += n),
      failed: (n: number) => void (counted.failed += n),
      latency: () => void counted.latencies++,
    };
    const config = natsGroup({ stream: `${RUN}_metrics`, subject: `${RUN}_metrics.{topic}.{partition}` }).sink;
    if (config.type !== 'nats') throw new Error('not nats');
    streams.push(`${RUN}_metrics`);
    const s = new NatsSink({ group: 'g1', config, metrics });
    sinks.push(s);
    await s.deliver([0, 1, 2].map((o) => message(o)));
    await s.deliver([1, 2].map((o) => message(o))); // already there: skipped, not published again
    expect(counted).toEqual({ published: 3, failed: 0, latencies: 3 });
  });

  it('blocks with a clear status while the broker is unreachable, and never shows the password', async () => {
    if (!available) return;
    const events: SinkEvent[] = [];
    const s = sink('down', { url: 'nats://app:hunter2@127.0.0.1:1', connectTimeoutMs: 500 }, events);
    const error = (await s.deliver([message(0)]).catch((e: unknown) => e)) as NatsSinkError;
    expect(error.blockPartition).toBe(true);
    expect(error.message).toMatch(/connecting to nats:\/\/app:\*\*\*@127.0.0.1:1.*NATS unreachable/);
    expect(JSON.stringify(events)).not.toContain('hunter2');
    expect(events).toEqual([expect.objectContaining({ kind: 'nats_problem', topic: 'src.public.accounts', partition: 0 })]);
    expect(await s.storedPosition('src.public.accounts', 0)).toBeUndefined();
  });
});

describe('nats sink on a server with users and permissions', () => {
  let node: NatsNode;
  let dir: string;
  const sinks: NatsSink[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-nats-auth-'));
    const port = await freePort();
    const inbox = '{ publish: { allow: ["_INBOX.>"] }, subscribe: { allow: ["_INBOX.>"] } }';
    writeFileSync(
      join(dir, 'auth.conf'),
      [
        `listen: 127.0.0.1:${port}`,
        `jetstream { store_dir: "${join(dir, 'js')}" }`,
        'authorization { users = [',
        '  { user: full, password: "full-pw" }',
        `  { user: limited, password: "limited-pw", permissions: ${inbox} }`,
        '] }',
      ].join('\n'),
    );
    node = new NatsNode('auth', port, join(dir, 'auth.conf'));
    await node.start();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await node?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function authSink(user: string, password: string): NatsSink {
    const url = `nats://${user}:${password}@127.0.0.1:${node.port}`;
    const config = natsGroup({ url, stream: 'AUTH', subject: 'auth.{topic}.{partition}', publishTimeoutMs: 2_000 }).sink;
    if (config.type !== 'nats') throw new Error('not nats');
    const s = new NatsSink({ group: 'g1', config });
    sinks.push(s);
    return s;
  }

  it('publishes with a user and password', async () => {
    await authSink('full', 'full-pw').deliver([message(0)]);
  });

  it('says so when the password is wrong, without showing it', async () => {
    const error = (await authSink('full', 'wrong-pw')
      .deliver([message(0)])
      .catch((e: unknown) => e)) as NatsSinkError;
    expect(error.message).toMatch(/authorization failed; check the user and password or token/);
    expect(error.message).not.toContain('wrong-pw');
    expect(error.blockPartition).toBe(true);
  });

  it('says so when the user may not use the JetStream API', async () => {
    const error = (await authSink('limited', 'limited-pw')
      .deliver([message(0)])
      .catch((e: unknown) => e)) as NatsSinkError;
    expect(error.message).toMatch(/permission denied/);
    expect(error.message).not.toContain('limited-pw');
    expect(error.blockPartition).toBe(true);
  }, 30_000);
});
