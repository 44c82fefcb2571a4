import type { Client } from 'pg';
import type { LogicalReplicationService } from 'pg-logical-replication';
import { formatLsn } from '@tributary/pg-source';

export const HEARTBEAT_PREFIX = 'tributary.heartbeat';

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

  /** Writes a heartbeat into the source every `intervalMs` through `client`, until stopHeartbeats(). */
  startHeartbeats(client: Client, intervalMs: number): void {
    this.heartbeatTimer = setInterval(() => {
      client.query(`SELECT pg_logical_emit_message(false, $1, '')`, [HEARTBEAT_PREFIX]).catch((e: Error) => this.fail(e));
    }, intervalMs);
  }

  stopHeartbeats(): void {
    clearInterval(this.heartbeatTimer);
  }
}
