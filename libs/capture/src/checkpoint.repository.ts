import type { ClientBase } from 'pg';

/** The per-source LSN checkpoint, written in the same transaction as the messages it covers. */
export class CheckpointRepository {
  static async get(client: ClientBase, source: string): Promise<bigint> {
    const { rows } = await client.query<{ lsn: string }>('SELECT lsn FROM tributary.source_checkpoints WHERE source = $1', [
      source,
    ]);
    return rows.length ? BigInt(rows[0].lsn) : 0n;
  }

  static async save(client: ClientBase, source: string, endLsn: bigint, txId: number, commitTimeMs: number): Promise<void> {
    await client.query(
      `INSERT INTO tributary.source_checkpoints (source, lsn, tx_id, commit_time, updated_at)
       VALUES ($1, $2::bigint, $3, to_timestamp($4::double precision / 1000), now())
       ON CONFLICT (source) DO UPDATE
          SET lsn = EXCLUDED.lsn, tx_id = EXCLUDED.tx_id, commit_time = EXCLUDED.commit_time, updated_at = now()`,
      [source, String(endLsn), txId, commitTimeMs],
    );
  }

  /**
   * Writes the source's checkpoint row without changing it: a write that fails as the real ones would
   * while the platform database refuses writes (read-only), used to find out whether it takes them again.
   */
  static async touch(client: ClientBase, source: string): Promise<void> {
    await client.query('UPDATE tributary.source_checkpoints SET updated_at = now() WHERE source = $1', [source]);
  }
}
