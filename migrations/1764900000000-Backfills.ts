import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Backfills1764900000000 implements MigrationInterface {
  name = 'Backfills1764900000000';

  async up(q: QueryRunner): Promise<void> {
    // One snapshot (backfill) of one source table: the initial snapshot of a newly captured table, or
    // one started through the API. Progress is written by the capture in the same platform transaction
    // as the chunk's messages and the source checkpoint, so a restart resumes after the last finished chunk.
    // (Chunks themselves are handed from the snapshotter to the capture session in memory: they are only
    // ever valid for the run that read them; see docs/snapshots.md.)
    await q.query(`
      CREATE TABLE tributary.backfills (
        id              bigserial PRIMARY KEY,
        source          text NOT NULL,
        schema_name     text NOT NULL,
        table_name      text NOT NULL,
        where_clause    text,
        chunk_size      int NOT NULL,
        reason          text NOT NULL,
        status          text NOT NULL DEFAULT 'pending',
        run_id          text,
        last_key        jsonb,
        chunks_done     int NOT NULL DEFAULT 0,
        rows_done       bigint NOT NULL DEFAULT 0,
        rows_emitted    bigint NOT NULL DEFAULT 0,
        estimated_total bigint,
        error           text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        started_at      timestamptz,
        finished_at     timestamptz,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX backfills_source_status_idx ON tributary.backfills (source, status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.backfills');
  }
}
