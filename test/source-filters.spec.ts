import { Logger, type LoggerService } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { sourceSchema, type CapturedTable, type SourceConfig } from '@tributary/config';
import { SourceConfigurationError, SourcePreparer } from '@tributary/capture';
import { GroupRepository, MessageNotifier } from '@tributary/consumer-groups';
import { DatabaseSink, PostgresDialect } from '@tributary/db-sink';
import { TableSchemaRepository } from '@tributary/schema-registry';
import { BackfillRepository, planBackfill } from '@tributary/snapshot';
import { WebhookSink, webhookSinkSchema } from '@tributary/webhook-sink';
import { CaptureHarness, platformConfig, sourceConfig } from './support/capture-harness';
import { loggedMessages } from './support/logged-messages';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestApi } from './support/api';
import { TestPlatform } from './support/platform';
import { sinkGroup, SinkGroups } from './support/sink-groups';
import { WebhookReceiver } from './support/webhook-receiver';

/** Every log line of the process (debug included), as text. */
class CollectingLogger implements LoggerService {
  readonly lines: string[] = [];
  private keep = (...args: unknown[]) =>
    void this.lines.push(args.map((a) => (a instanceof Error ? a.stack : JSON.stringify(a))).join(' '));
  log = this.keep;
  error = this.keep;
  warn = this.keep;
  debug = this.keep;
  verbose = this.keep;
  fatal = this.keep;
}

const SECRET = 'SSN-7c1f-NEVER-LEAVES';

/**
 * Per table `columns`/`exclude` and `where` as the publication's column list and row filter: what they leave
 * out is never decoded, stored or sent (topics, sinks, logs, dead letters), snapshots read the same, the
 * checks are Postgres' own, and a change alters the publication in place.
 */
describe('columns and row filters at the source', () => {
  let cluster: TestCluster;
  let harness: CaptureHarness | undefined;
  let platformUrl: string;
  const sql = (text: string, params: unknown[] = []) => cluster.query('fsrc', text, params);
  const logs = new CollectingLogger();

  const people = (extra: Partial<CapturedTable>): CapturedTable => ({ schema: 'public', table: 'people', ...extra });
  const source = (tables: CapturedTable[]): SourceConfig => sourceConfig('fsrc', cluster.url('fsrc'), [], { tables });
  const refusal = async (tables: CapturedTable[]): Promise<SourceConfigurationError> => {
    const error = await new SourcePreparer(source(tables)).verify().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceConfigurationError);
    return error as SourceConfigurationError;
  };

  beforeAll(async () => {
    Logger.overrideLogger(logs);
    cluster = await TestCluster.start(15);
    await cluster.createDatabase('fsrc');
    await cluster.createDatabase('ftarget');
    platformUrl = await cluster.createDatabase('fplatform');
    // The replica identity covers region too, so the row filter may use it (updates and deletes are published).
    await sql(`CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, ssn text, region text NOT NULL)`);
    await sql(`CREATE UNIQUE INDEX people_ident ON people (id, region)`);
    await sql(`ALTER TABLE people REPLICA IDENTITY USING INDEX people_ident`);
    await sql(`CREATE TABLE plain (id int PRIMARY KEY, name text, secret text)`);
    await sql(`CREATE FUNCTION is_even(int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT $1 % 2 = 0'`);
    await sql(`INSERT INTO people VALUES (1, 'ann', $1, 'eu'), (2, 'bob', $1, 'us')`, [SECRET]);
  });

  afterAll(async () => {
    await harness?.stop();
    await cluster?.stop();
    Logger.overrideLogger(['error', 'warn']);
  });

  it('refuses, naming the key, what Postgres would refuse or what would break the source (and changes nothing)', async () => {
    const sleepy = await refusal([people({ where: 'pg_sleep(1) IS NOT NULL' })]);
    expect(sleepy.field).toBe('tables[0].where');
    expect(sleepy.message).toMatch(/Postgres refuses it .*functions are not allowed/);
    const reader = await refusal([people({ where: `length(pg_read_file('/etc/passwd')) > 0` })]);
    expect(reader.field).toBe('tables[0].where');
    expect(reader.message).toMatch(/Postgres refuses it/);
    const userDefined = await refusal([people({ where: 'is_even(id)' })]);
    expect(userDefined.message).toMatch(/User-defined .*not allowed/);
    const subquery = await refusal([people({ where: 'id IN (SELECT 1)' })]);
    expect(subquery.field).toBe('tables[0].where');

    const notIdentity = await refusal([{ schema: 'public', table: 'plain' }, people({ where: `name = 'ann'` })]);
    expect(notIdentity.field).toBe('tables[1].where');
    expect(notIdentity.message).toMatch(/may only use its replica identity columns \("id", "region"\).*uses "name"/);
    const unknownWhere = await refusal([people({ where: 'nope = 1' })]);
    expect([unknownWhere.field, unknownWhere.message]).toEqual([
      'tables[0].where',
      expect.stringMatching(/column "nope" does not exist/),
    ]);

    const unknown = await refusal([people({ columns: ['id', 'region', 'nope'] })]);
    expect([unknown.field, unknown.message]).toEqual([
      'tables[0].columns',
      'tables[0].columns: public.people has no column "nope"',
    ]);
    const identity = await refusal([people({ exclude: ['region'] })]);
    expect(identity.field).toBe('tables[0].exclude');
    expect(identity.message).toMatch(/must keep publishing "region"/);
    const plainKey = await refusal([{ schema: 'public', table: 'plain', columns: ['name'] }]);
    expect(plainKey.message).toMatch(/must keep publishing "id"/);

    // verify() is what the API runs before it saves a source: nothing was created on the source.
    expect(await cluster.query('fsrc', `SELECT pubname FROM pg_publication`)).toEqual([]);
  });

  it('the API answers a refused filter with a 422 naming the key, and saves nothing', async () => {
    const platform = await TestPlatform.create(cluster, 'fapi');
    const api = await TestApi.start(platform);
    try {
      const body = (where: string) => ({
        name: 'fapi',
        url: cluster.url('fsrc'),
        slot: 'fapi_slot',
        publication: 'fapi_pub',
        tables: [{ table: 'public.people', exclude: ['ssn'], where }],
      });
      const sleepy = await api.call('POST', '/api/v1/sources', body('pg_sleep(1) IS NOT NULL'));
      expect([sleepy.status, sleepy.body.field]).toEqual([422, 'tables[0].where']);
      expect(sleepy.headers.get('content-type')).toMatch(/application\/problem\+json/);
      const notIdentity = await api.call('POST', '/api/v1/sources', body(`name = 'x'`));
      expect([notIdentity.status, notIdentity.body.field]).toEqual([422, 'tables[0].where']);
      expect(notIdentity.body.detail).toMatch(/replica identity/);
      const escape = await api.call('POST', '/api/v1/sources', body('true) , TABLE tributary.sources WHERE (true'));
      expect(escape.status).toBe(400);
      expect(String(escape.body.field)).toMatch(/^tables.0.\.?where$|^tables\[0\]\.where$/);
      expect((await api.call('GET', '/api/v1/sources/fapi')).status).toBe(404);
      expect(await cluster.query('fsrc', `SELECT pubname FROM pg_publication WHERE pubname = 'fapi_pub'`)).toEqual([]);
      // tributary apply: the same check, before the document changes anything
      const applied = await api.call('POST', '/api/v1/config/apply', {
        sources: [{ ...body('pg_sleep(1) IS NOT NULL'), name: 'fapply' }],
      });
      expect([applied.status, applied.body.field]).toEqual([422, 'sources[0].tables[0].where']);
      expect((await api.call('GET', '/api/v1/sources/fapply')).status).toBe(404);
      const ok = await api.call('POST', '/api/v1/sources', body(`region = 'eu'`));
      expect(ok.status).toBe(201);
    } finally {
      await api.close();
      await platform.close();
    }
  });

  it('refuses in the configuration what cannot be a single expression, or a filter on a schema pattern', () => {
    const parse = (tables: unknown[]) => sourceSchema.safeParse({ name: 'x', tables });
    const escape = parse([{ table: 'public.people', where: 'true) , TABLE tributary.sources WHERE (true' }]);
    expect(escape.success).toBe(false);
    expect(escape.error?.issues.map((i) => [i.path.join('.'), i.message])).toContainEqual([
      'tables.0.where',
      'has an unbalanced ")"',
    ]);
    expect(parse([{ table: 'public.people', where: 'id = 1; DROP TABLE people' }]).success).toBe(false);
    expect(parse([{ table: 'public.people', where: 'id = 1 -- x' }]).success).toBe(false);
    const pattern = parse([{ table: 'public.*', exclude: ['ssn'] }]);
    expect(pattern.error?.issues.map((i) => i.path.join('.'))).toContain('tables.0.exclude');
    const both = parse([{ table: 'public.people', columns: ['id'], exclude: ['ssn'] }]);
    expect(both.error?.issues.map((i) => i.path.join('.'))).toContain('tables.0.exclude');
    const inSchema = parse(['public.*', { table: 'public.people', exclude: ['ssn'] }]);
    expect(inSchema.error?.issues.map((i) => i.path.join('.'))).toContain('tables.1.exclude');
    expect(parse([{ table: 'public.people', exclude: ['ssn'], where: "region = 'eu'" }]).success).toBe(true);
  });

  it('never lets an excluded value out: no topic, sink, log line or dead letter has it; filtered rows are not sent', async () => {
    // Collect again: an app created by an earlier test set its own logger.
    Logger.overrideLogger(logs);
    logs.lines.length = 0;
    const filtered = people({ exclude: ['ssn'], where: `region = 'eu'` });
    harness = await CaptureHarness.start(platformConfig(platformUrl, [source([filtered])], 1));
    const pool = harness.db.pool;
    const repo = new GroupRepository(pool);
    const notifier = new MessageNotifier(platformUrl);
    await notifier.start();
    const groups = new SinkGroups(repo, notifier);
    const receiver = await WebhookReceiver.start();
    receiver.reply = () => ({ status: 400, body: 'refused' });
    try {
      const topic = 'fsrc.public.people';
      const target = () => PostgresDialect.connect(cluster.url('ftarget'), 'public');
      await groups.start(
        sinkGroup('f-pg', [topic]),
        new DatabaseSink(
          target,
          new TableSchemaRepository(pool),
          { group: 'f-pg', autoCreate: true, addColumns: true },
          'postgres',
        ),
      );
      const hook = webhookSinkSchema.parse({
        type: 'webhook',
        url: receiver.url,
        secrets: [`whsec_${randomBytes(24).toString('base64')}`],
        allowPrivateNetworks: true,
      });
      await groups.start(
        sinkGroup('f-dead', [topic], { sink: hook, retry: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 10 } }),
        new WebhookSink({ group: 'f-dead', config: hook, pool }),
      );

      // The initial snapshot reads ann (eu) without her ssn, and not bob (us); the changes come after it.
      await waitFor(async () => {
        const { rows } = await pool.query(`SELECT status FROM tributary.backfills WHERE source = 'fsrc'`);
        return rows.length > 0 && rows.every((r: { status: string }) => r.status === 'done');
      }, 'the initial snapshot');
      await sql(`INSERT INTO people VALUES (3, 'cy', $1, 'eu'), (4, 'dee', $1, 'us')`, [SECRET]);
      await sql(`UPDATE people SET ssn = $1 || '-2', name = 'ann2' WHERE id = 1`, [SECRET]);
      await sql(`UPDATE people SET ssn = $1 || '-3' WHERE id = 4`, [SECRET]); // us: not sent
      await sql(`UPDATE people SET region = 'us' WHERE id = 3`); // leaves the filter: a delete
      await sql(`UPDATE people SET region = 'eu' WHERE id = 2`); // enters it: an insert (without ssn)
      const messages = await waitFor(async () => {
        const all = await loggedMessages(pool, topic);
        return all.length >= 5 && all;
      }, 'the filtered changes');
      const ops = messages.map((m) => JSON.parse(m.envelope) as { op: string; key: { id: number } });
      expect(ops.map((e) => `${e.op}${e.key.id}`)).toEqual(['r1', 'c3', 'u1', 'd3', 'c2']);
      for (const m of messages) {
        const e = JSON.parse(m.envelope) as { after: Record<string, unknown> | null };
        if (e.after) expect(Object.keys(e.after)).toEqual(['id', 'name', 'region']);
      }

      await waitFor(
        async () => (await cluster.query('ftarget', 'SELECT count(*)::int AS n FROM people'))[0]?.n === 2,
        'the target',
      );
      expect(await cluster.query('ftarget', 'SELECT * FROM people ORDER BY id')).toEqual([
        { id: 1, name: 'ann2', region: 'eu' },
        { id: 2, name: 'bob', region: 'eu' },
      ]);
      await waitFor(
        async () =>
          (await pool.query(`SELECT count(*)::int AS n FROM tributary.dead_letters WHERE group_name = 'f-dead'`)).rows[0].n === 5,
        'the dead letters',
      );

      const everything = [
        ...messages.map((m) => m.envelope),
        JSON.stringify(await cluster.query('ftarget', `SELECT to_jsonb(t) AS row FROM people t`)),
        JSON.stringify((await pool.query(`SELECT d.*::text AS row FROM tributary.dead_letters d`)).rows),
        JSON.stringify(
          (await pool.query(`SELECT a.*::text AS row FROM tributary.webhook_attempts a`).catch(() => ({ rows: [] }))).rows,
        ),
        JSON.stringify(receiver.received.map((r) => r.body)),
        ...logs.lines,
      ].join('\n');
      expect(logs.lines.some((l) => l.includes('streaming slot tributary_fsrc'))).toBe(true);
      expect(everything).not.toContain('SSN-7c1f');
      expect(everything).not.toContain('"ssn"');
    } finally {
      await groups.stop();
      await notifier.close();
      await receiver.close();
    }
  });

  it('a changed filter alters the publication in place: every change once, each under the filter of its time', async () => {
    if (!harness) throw new Error('needs the capture of the test before');
    const [{ oid }] = await sql(`SELECT oid::int AS oid FROM pg_publication WHERE pubname = 'tributary_fsrc'`);
    await harness.stop();
    harness = undefined;
    // Written while capture is down and the publication still has the old filter: us rows are not sent.
    await sql(`INSERT INTO people VALUES (5, 'eve', $1, 'us'), (6, 'fay', $1, 'eu')`, [SECRET]);
    const wider = people({ columns: ['id', 'region', 'name'], where: `region IN ('eu', 'us')` });
    harness = await CaptureHarness.start(platformConfig(platformUrl, [source([wider])], 1));
    const [published] = await sql(
      `SELECT p.oid::int AS oid, t.rowfilter AS filter, t.attnames::text[] AS columns
         FROM pg_publication p JOIN pg_publication_tables t ON t.pubname = p.pubname WHERE p.pubname = 'tributary_fsrc'`,
    );
    expect(published).toEqual({
      oid,
      filter: `(region = ANY (ARRAY['eu'::text, 'us'::text]))`,
      columns: ['id', 'name', 'region'],
    });
    await sql(`INSERT INTO people VALUES (7, 'gus', $1, 'us')`, [SECRET]);
    const topic = 'fsrc.public.people';
    const messages = await waitFor(async () => {
      const all = await loggedMessages(harness!.db.pool, topic);
      return all.length >= 7 && all;
    }, 'the change after the alter');
    const ids = messages.map((m) => (JSON.parse(m.envelope) as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    const ops = messages.map((m) => JSON.parse(m.envelope) as { op: string; key: { id: number } });
    expect(ops.map((e) => `${e.op}${e.key.id}`)).toEqual(['r1', 'c3', 'u1', 'd3', 'c2', 'c6', 'c7']);
    expect(messages.map((m) => m.envelope).join('\n')).not.toContain('SSN-7c1f');

    // A backfill reads the rows the new filter takes in, with the publication's columns only.
    const pool = harness.db.pool;
    const backfill = await planBackfill(pool, source([wider]), { table: 'public.people' });
    await waitFor(async () => (await new BackfillRepository(pool).get('fsrc', backfill.id))?.status === 'done', 'the backfill');
    const all = await loggedMessages(pool, topic);
    const read = all.map(
      (m) => JSON.parse(m.envelope) as { op: string; key: { id: number }; after: object; source: { backfill?: number } },
    );
    const backfilled = read.filter((e) => e.source.backfill === backfill.id);
    expect(backfilled.map((e) => `${e.op}${e.key.id}`)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7']);
    for (const e of backfilled) expect(Object.keys(e.after)).toEqual(['id', 'name', 'region']);
    expect(all.map((m) => m.envelope).join('\n')).not.toContain('SSN-7c1f');
  });
});
