import { SourcePreparer } from '@tributary/capture';
import { sourceConfig } from './support/capture-harness';
import { freePort } from '@tributary/local-postgres';
import { TestCluster, waitFor } from './support/pg-cluster';

/** What a failed preparation must leave behind: nothing. */
async function leftovers(cluster: TestCluster, db: string): Promise<{ slots: number; publications: number }> {
  const [slots] = await cluster.query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM pg_replication_slots');
  const [pubs] = await cluster.query<{ n: number }>(db, 'SELECT count(*)::int AS n FROM pg_publication');
  return { slots: slots.n, publications: pubs.n };
}

describe('source preparation errors', () => {
  let logical: TestCluster;
  let replica: TestCluster;

  beforeAll(async () => {
    [logical, replica] = await Promise.all([TestCluster.start(18), TestCluster.start(18, { wal_level: 'replica' })]);
    await logical.createDatabase('src');
    await logical.query('src', 'CREATE TABLE t (id int PRIMARY KEY)');
    await logical.query('src', 'CREATE ROLE app LOGIN');
    await logical.query('src', 'GRANT ALL ON SCHEMA public TO app');
    await replica.query('postgres', 'CREATE TABLE t (id int PRIMARY KEY)');
  });

  afterAll(async () => {
    await logical?.stop();
    await replica?.stop();
  });

  it('names wal_level and the fix when it is not logical', async () => {
    const prep = new SourcePreparer(sourceConfig('s1', replica.url(), ['public.t']));
    await expect(prep.prepare()).rejects.toThrow(/wal_level is "replica".*ALTER SYSTEM SET wal_level = logical/);
    expect(await leftovers(replica, 'postgres')).toEqual({ slots: 0, publications: 0 });
  });

  it('names the role and the fix when it lacks the replication privilege', async () => {
    const url = logical.url('src').replace('postgres@', 'app@');
    const prep = new SourcePreparer(sourceConfig('s2', url, ['public.t']));
    await expect(prep.prepare()).rejects.toThrow(/role "app" may not use logical replication.*ALTER ROLE "app" WITH REPLICATION/);
    expect(await leftovers(logical, 'src')).toEqual({ slots: 0, publications: 0 });
  });

  it('names a configured table that does not exist; preparing captures the others, and creates nothing when none exists', async () => {
    const prep = new SourcePreparer(sourceConfig('s3', logical.url('src'), ['public.t', 'public.missing']));
    // The API's check before a source is stored refuses it.
    await expect(prep.verify()).rejects.toThrow(/table public\.missing does not exist/);
    const none = new SourcePreparer(sourceConfig('s3', logical.url('src'), ['public.missing', 'gone.*']));
    await expect(none.prepare()).rejects.toThrow(/none of its tables exists \(public\.missing, gone\.\*\)/);
    expect(await leftovers(logical, 'src')).toEqual({ slots: 0, publications: 0 });
    // A table dropped (or renamed) after the source was stored must not stop the others.
    expect(await prep.prepare()).toEqual({ missingTables: ['public.missing'] });
    const published = await logical.query('src', `SELECT tablename FROM pg_publication_tables WHERE pubname = 'tributary_s3'`);
    expect(published).toEqual([{ tablename: 't' }]);
    await logical.query('src', `SELECT pg_drop_replication_slot('tributary_s3')`);
    await logical.query('src', 'DROP PUBLICATION tributary_s3');
  });

  it('says the database is unreachable, without the password', async () => {
    const port = await freePort();
    const prep = new SourcePreparer(sourceConfig('s4', `postgres://user:s3cret@127.0.0.1:${port}/db`, ['public.t']));
    const error: Error = await prep.prepare().then(
      () => new Error('no error'),
      (e: Error) => e,
    );
    expect(error.message).toMatch(new RegExp(`cannot reach source "s4" at postgres://user:\\*\\*\\*@127.0.0.1:${port}/db`));
    expect(error.message).not.toContain('s3cret');
  });

  it('refuses a slot that another connection is streaming', async () => {
    await logical.query('src', `SELECT pg_create_logical_replication_slot('busy_slot', 'pgoutput')`);
    const { Client } = await import('pg');
    const holder = new Client({ connectionString: logical.url('src'), replication: 'database' } as never);
    await holder.connect();
    holder
      .query(`START_REPLICATION SLOT busy_slot LOGICAL 0/0 (proto_version '1', publication_names 'none')`)
      .catch(() => undefined);
    try {
      await waitFor(async () => {
        const [slot] = await logical.query<{ active: boolean }>(
          'src',
          `SELECT active FROM pg_replication_slots WHERE slot_name = 'busy_slot'`,
        );
        return slot.active;
      }, 'busy_slot to be active');
      const prep = new SourcePreparer(
        sourceConfig('s5', logical.url('src'), ['public.t'], { slot: 'busy_slot', publication: 'p5' }),
      );
      await expect(prep.prepare()).rejects.toThrow(/replication slot "busy_slot" is in use by another connection/);
      const [pubs] = await logical.query<{ n: number }>(
        'src',
        `SELECT count(*)::int AS n FROM pg_publication WHERE pubname = 'p5'`,
      );
      expect(pubs.n).toBe(0);
    } finally {
      await holder.end().catch(() => undefined);
    }
  });

  it('creates publication and slot once, and preparing again is a no-op', async () => {
    const config = sourceConfig('s6', logical.url('src'), ['public.t']);
    await new SourcePreparer(config).prepare();
    await new SourcePreparer(config).prepare();
    const slots = await logical.query('src', `SELECT plugin FROM pg_replication_slots WHERE slot_name = 'tributary_s6'`);
    const tables = await logical.query('src', `SELECT tablename FROM pg_publication_tables WHERE pubname = 'tributary_s6'`);
    expect(slots).toEqual([{ plugin: 'pgoutput' }]);
    expect(tables).toEqual([{ tablename: 't' }]);
  });
});
