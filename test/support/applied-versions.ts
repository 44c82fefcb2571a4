import type { TestCluster } from './pg-cluster';

/**
 * A target `items (id, version, note)` table whose trigger records every row version a sink writes into
 * `applied`, so a test can prove that nothing was applied twice (a source sequence gives each change its
 * own version).
 */
export async function createAuditedItems(cluster: TestCluster, database: string): Promise<void> {
  await cluster.query(database, 'CREATE TABLE items (id int PRIMARY KEY, version bigint NOT NULL, note text)');
  await cluster.query(database, 'CREATE TABLE applied (id int, version bigint)');
  await cluster.query(
    database,
    `CREATE FUNCTION record_applied() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO applied VALUES (NEW.id, NEW.version); RETURN NEW; END $$`,
  );
  await cluster.query(
    database,
    'CREATE TRIGGER audit AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION record_applied()',
  );
}

/** Row versions (above `after`, when given) the sink wrote more than once; empty when each was applied once. */
export function versionsAppliedTwice(cluster: TestCluster, database: string, after?: string): Promise<unknown[]> {
  return cluster.query(database, 'SELECT id, version FROM applied WHERE version > $1::bigint GROUP BY 1, 2 HAVING count(*) > 1', [
    after ?? '-1',
  ]);
}
