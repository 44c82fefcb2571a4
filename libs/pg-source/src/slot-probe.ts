import { Client } from 'pg';
import { readFailoverState, type FailoverState } from './failover-slot';
import { missingTables, type NamedTable } from './table-presence';

export interface SlotState {
  /** The source answered. */
  reachable: boolean;
  error?: string;
  /** Null when the slot does not exist (yet). */
  slot: {
    active: boolean;
    activePid: number | null;
    confirmedFlushLsn: string | null;
    lagBytes: number | null;
    /** `reserved`, `extended`, `unreserved` (about to be lost) or `lost` (invalidated): pg_replication_slots. */
    walStatus: string | null;
    /** WAL that can still be written before the slot is lost; null without a max_slot_wal_keep_size. */
    safeWalBytes: number | null;
    /** Lost, about to be, or with less than a fifth of max_slot_wal_keep_size left (AT_RISK_FRACTION). */
    atRisk: boolean;
  } | null;
  /** Of the `tables` asked about, those that do not exist on the source (dropped, renamed): `schema.table`. */
  missingTables: string[];
  /** Read only for a source with `failover: true`. */
  failover?: FailoverState;
}

/**
 * Reads a replication slot's state on a source database, with short timeouts: used by status pages and
 * metrics, which must answer even when a source is down.
 */
export async function probeSlot(
  url: string,
  slot: string,
  timeoutMs = 3_000,
  tables: readonly NamedTable[] = [],
  failover = false,
): Promise<SlotState> {
  let client: Client | undefined;
  try {
    client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
    client.on('error', () => undefined); // a broken connection fails the query below, which is reported
    await client.connect();
    const { rows } = await client.query<{
      active: boolean;
      active_pid: number | null;
      lsn: string;
      lag: number;
      wal_status: string | null;
      safe: number | null;
      keep: number;
    }>(
      `SELECT active, active_pid, confirmed_flush_lsn::text AS lsn,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag,
              wal_status, safe_wal_size::float8 AS safe,
              pg_size_bytes(current_setting('max_slot_wal_keep_size'))::float8 AS keep
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    const r = rows[0];
    return {
      reachable: true,
      slot: r
        ? {
            active: r.active,
            activePid: r.active_pid,
            confirmedFlushLsn: r.lsn,
            lagBytes: r.lag,
            walStatus: r.wal_status,
            safeWalBytes: r.safe,
            atRisk: slotAtRisk(r.wal_status, r.safe, r.keep),
          }
        : null,
      missingTables: await missingTables(client, tables),
      ...(failover ? { failover: await readFailoverState(client, slot) } : {}),
    };
  } catch (error) {
    return { reachable: false, error: (error as Error).message, slot: null, missingTables: [] };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** At risk once less than this fraction of max_slot_wal_keep_size is left before the slot is lost. */
export const AT_RISK_FRACTION = 0.2;

function slotAtRisk(walStatus: string | null, safeBytes: number | null, keepBytes: number): boolean {
  if (walStatus === 'unreserved' || walStatus === 'lost') return true;
  return safeBytes !== null && keepBytes > 0 && safeBytes < keepBytes * AT_RISK_FRACTION;
}
