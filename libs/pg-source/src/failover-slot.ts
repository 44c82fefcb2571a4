import { Client, type ClientBase, type ClientConfig } from 'pg';
import { formatLsn, parseLsn } from './lsn';

/** Failover slots (`failover = true`, synced to standbys with `sync_replication_slots`) came with Postgres 17. */
export const FAILOVER_MIN_VERSION = 170_000;

/** Creates the logical slot for pgoutput; with `failover` (Postgres 17+) it is a failover slot. */
export async function createLogicalSlot(client: ClientBase, slot: string, failover: boolean): Promise<void> {
  if (failover) {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, false, true)`, [slot]);
  } else {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  }
}

/** The slot's failover flag, or null before Postgres 17 (or without the slot). */
export async function slotFailover(client: ClientBase, slot: string): Promise<boolean | null> {
  const { rows } = await client.query<{ failover: boolean | null }>(
    `SELECT (to_jsonb(s) ->> 'failover')::boolean AS failover FROM pg_replication_slots s WHERE slot_name = $1`,
    [slot],
  );
  return rows[0]?.failover ?? null;
}

/**
 * Sets an existing, inactive slot's failover flag. ALTER_REPLICATION_SLOT is a command of the replication
 * protocol (Postgres 17+ has no SQL function for it), so it goes over a replication connection.
 */
export async function alterSlotFailover(url: string, slot: string, failover: boolean): Promise<void> {
  // pg supports `replication` (it is sent as a startup parameter) but its types do not list it.
  const config = { connectionString: url, replication: 'database', connectionTimeoutMillis: 10_000 } as ClientConfig;
  const client = new Client(config);
  client.on('error', () => undefined); // reported through the failing query instead
  try {
    await client.connect();
    await client.query(`ALTER_REPLICATION_SLOT "${slot.replace(/"/g, '""')}" ( FAILOVER ${failover ? 'true' : 'false'} )`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What the source's server says about failing over a source's slot: shown in the source's status. */
export interface FailoverState {
  /** The slot is a failover slot; null when the server has none (before 17) or the slot does not exist. */
  slotFailover: boolean | null;
  /** The slot was synced from a primary (true on a standby, and on a promoted standby for the slots it synced). */
  slotSynced: boolean | null;
  /** The physical slots in `synchronized_standby_slots`: logical changes go out only once those standbys have them. */
  synchronizedStandbySlots: string[];
  /** What is missing for a failover without loss, or null when nothing is. */
  advice: string | null;
}

/** Reads a slot's failover state on a source and says what a failover without loss still needs. */
export async function readFailoverState(client: ClientBase, slot: string): Promise<FailoverState> {
  const [{ version }] = (await client.query<{ version: number }>(`SELECT current_setting('server_version_num')::int AS version`))
    .rows;
  if (version < FAILOVER_MIN_VERSION) {
    return {
      slotFailover: null,
      slotSynced: null,
      synchronizedStandbySlots: [],
      advice: `Postgres ${Math.floor(version / 10_000)} has no failover slots (17+): after a failover, resync the source`,
    };
  }
  const { rows } = await client.query<{ failover: boolean; synced: boolean; standby_slots: string }>(
    `SELECT (to_jsonb(s) ->> 'failover')::boolean AS failover, (to_jsonb(s) ->> 'synced')::boolean AS synced,
            current_setting('synchronized_standby_slots') AS standby_slots
       FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
    [slot],
  );
  const standbySlots = rows[0].standby_slots
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const state = { slotFailover: rows[0].failover, slotSynced: rows[0].synced, synchronizedStandbySlots: standbySlots };
  return { ...state, advice: await failoverAdvice(client, state) };
}

async function failoverAdvice(client: ClientBase, state: Omit<FailoverState, 'advice'>): Promise<string | null> {
  if (state.slotFailover === null) return 'the slot does not exist yet';
  if (!state.slotFailover) return 'the slot is not a failover slot yet: capture makes it one when it next prepares the source';
  if (state.synchronizedStandbySlots.length === 0) {
    return (
      'synchronized_standby_slots is empty: capture may receive (and store) changes a standby does not have yet, ' +
      "which a promotion of that standby would lose; set it to the standby's physical slot"
    );
  }
  const { rows } = await client.query<{ name: string; active: boolean | null }>(
    `SELECT w.name, s.active FROM unnest($1::text[]) w(name)
       LEFT JOIN pg_replication_slots s ON s.slot_name = w.name AND s.slot_type = 'physical'`,
    [state.synchronizedStandbySlots],
  );
  const idle = rows.filter((r) => !r.active).map((r) => r.name);
  if (idle.length) {
    return (
      `physical slot(s) ${idle.join(', ')} in synchronized_standby_slots are missing or not active: ` +
      'capture receives no changes until their standbys stream again (or they leave the setting)'
    );
  }
  return null;
}

/**
 * Why capture cannot go on from the server at `url` with its checkpoint (a source's new primary after a
 * failover), or undefined when it can: the server must be a primary, hold the slot as a failover slot,
 * and have WAL up to the checkpoint (else changes capture stored are not on it: the standby was behind
 * when it was promoted). The slot may have confirmed more than the checkpoint: heartbeats and changes to
 * no captured table are acknowledged without a platform write.
 */
export async function failoverTargetProblem(url: string, slot: string, checkpoint: bigint): Promise<string | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 10_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ recovery: boolean; wal: string; failover: boolean | null }>(
      `SELECT pg_is_in_recovery() AS recovery,
              (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS wal,
              (to_jsonb(s) ->> 'failover')::boolean AS failover
         FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
      [slot],
    );
    const r = rows[0];
    if (r.recovery) return 'the server is a standby (in recovery): promote it first';
    if (r.failover === null) {
      return (
        `the server has no slot "${slot}": it was not synced there (sync_replication_slots = on on the standby), ` +
        'or its copy was still temporary when the standby was promoted (such a copy is dropped). Resync the source instead'
      );
    }
    if (!r.failover) return `slot "${slot}" on the server is not a failover slot`;
    if (parseLsn(r.wal) < checkpoint) {
      return (
        `the server's WAL ends at ${r.wal}, before the platform's checkpoint ${formatLsn(checkpoint)}: changes capture ` +
        'stored are not on it (the standby was behind when promoted; set synchronized_standby_slots). Resync the source instead'
      );
    }
    return undefined;
  } catch (error) {
    return `cannot read the server: ${(error as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
