import type { Client } from 'pg';
import type { LogicalReplicationService } from 'pg-logical-replication';
import { formatLsn } from '@tributary/pg-source';

export const HEARTBEAT_PREFIX = 'tributary.heartbeat';
/** How often a standby snapshot is logged on Postgres 16+ (see startHeartbeats). */
export const STANDBY_SNAPSHOT_INTERVAL_MS = 1_000;

/**
 * Acknowledgement and heartbeats of one session's slot. The slot is only ever acknowledged with an LSN
 * whose changes are stored (the caller's duty), so its confirmed position is never ahead of the topic
 * tables. Heartbeats are tiny WAL records in the source database: their arrival proves everything before
 * them was seen, so the slot can move on even when the captured tables are idle but the database is busy.
 */
export class SlotAcknowledger {
  /** Highest LSN acknowledged to the source. */
  confirmedLsn: bigint;
  private heartbeatTimer?: NodeJS.Timeout;
  private snapshotTimer?: NodeJS.Timeout;

  constructor(
    private readonly service: LogicalReplicationService,
    startLsn: bigint,
    private readonly fail: (error: Error) => void,
  ) {
    this.confirmedLsn = startLsn;
  }

  /** Tells the server everything up to `lsn` is stored, so the slot may release WAL before it. */
  acknowledge(lsn: bigint): void {
    if (lsn <= 0n) return;
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
    // The library reports "lsn + 1" as flushed; pass one less so the server gets exactly `lsn`. One
    // more would claim the first byte of the next record, and a transaction whose commit record starts
    // there would be skipped after a restart.
    void this.service.acknowledge(formatLsn(this.confirmedLsn - 1n)).catch((e: Error) => this.fail(e));
  }

  /** Answers the server's keepalive that asks for a reply: with what is already confirmed, nothing new. */
  answerKeepalive(): void {
    this.acknowledge(this.confirmedLsn);
  }

  /**
   * Writes a heartbeat into the source every `intervalMs` through `client`, until stopHeartbeats(). On
   * Postgres 16+, where this user may run it, also logs a standby snapshot (`pg_log_standby_snapshot()`)
   * every STANDBY_SNAPSHOT_INTERVAL_MS: the slot's restart_lsn moves only at such running-transactions
   * records, which the server itself writes every 15 s (and at checkpoints), so however promptly capture
   * acknowledges, the slot kept 15-30 s of the whole cluster's WAL (17 MB in bench:fanout, 0.06 MB of it
   * unacknowledged). With one a second it keeps about a second's. Postgres 15 has no such function.
   */
  startHeartbeats(client: Client, intervalMs: number): void {
    this.heartbeatTimer = setInterval(() => {
      client.query(`SELECT pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]).catch((e: Error) => this.fail(e));
    }, intervalMs);
    void canLogStandbySnapshots(client).then(
      (can) => {
        if (!can || !this.heartbeatTimer) return;
        this.snapshotTimer = setInterval(() => {
          client.query('SELECT pg_log_standby_snapshot()').catch((e: Error) => this.fail(e));
        }, STANDBY_SNAPSHOT_INTERVAL_MS);
      },
      (e: Error) => this.fail(e),
    );
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.snapshotTimer);
    this.heartbeatTimer = undefined;
  }
}

/** A primary on Postgres 16+ where this user may run pg_log_standby_snapshot() (superusers, or granted); not on 15. */
export async function canLogStandbySnapshots(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ can: boolean | null }>(
    `SELECT NOT pg_is_in_recovery() AND has_function_privilege(to_regprocedure('pg_catalog.pg_log_standby_snapshot()'), 'EXECUTE') AS can`,
  );
  return rows[0]?.can === true;
}
