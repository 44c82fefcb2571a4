import type { Pool, PoolClient } from 'pg';

/** Runs `fn` in one transaction on a pooled connection: committed if it resolves, rolled back if it throws. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined); // the original error is the one worth reporting
    throw error;
  } finally {
    client.release();
  }
}
