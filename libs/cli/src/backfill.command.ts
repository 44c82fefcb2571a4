import type { ApiClient } from './api-client';
import { CliError } from './api-client';
import type { Output } from './commands';
import { progressBar, statusLine, type StatusLine } from '@tributary/terminal';
import { sleepUnlessAborted } from '@tributary/timing';
import { formatTable } from './table';

interface BackfillView {
  id: number;
  table: string;
  status: string;
  rowsDone: number;
  estimatedTotal: number | null;
  percent: number | null;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  error: string | null;
}

export interface BackfillOptions {
  where?: string;
  chunkSize?: string;
  detach?: boolean;
  signal: AbortSignal;
  pollMs?: number;
  /** Where the progress bar goes; default stderr (rewritten in place on a terminal). */
  progress?: StatusLine;
}

const ACTIVE = new Set(['pending', 'running']);

/**
 * `tributary backfill start <source> <schema.table> [--where SQL] [--chunk-size N] [--detach]`,
 * `backfill status <source> [id]`, `backfill watch <source> <id>`, `backfill cancel <source> <id>`:
 * snapshots of captured tables (docs/snapshots.md), with a progress bar while one runs.
 */
export async function backfill(api: ApiClient, out: Output, args: string[], opts: BackfillOptions): Promise<void> {
  const [action, source, arg] = args;
  if (!source) throw new CliError('usage: tributary backfill start|status|watch|cancel <source> ...');
  const base = `/api/v1/sources/${encodeURIComponent(source)}/backfills`;
  if (action === 'start' && arg) {
    const body: Record<string, unknown> = { table: arg };
    if (opts.where !== undefined) body.where = opts.where;
    if (opts.chunkSize !== undefined) {
      if (!/^\d+$/.test(opts.chunkSize)) throw new CliError('--chunk-size must be a positive integer');
      body.chunkSize = Number(opts.chunkSize);
    }
    const created = await api.call<BackfillView>('POST', base, body);
    out(`backfill ${created.id} of ${created.table} queued (~${created.estimatedTotal ?? '?'} rows)`);
    if (!opts.detach) await watch(api, out, `${base}/${created.id}`, opts);
  } else if (action === 'status') {
    const list = arg
      ? [await api.call<BackfillView>('GET', `${base}/${encodeURIComponent(arg)}`)]
      : await api.call<BackfillView[]>('GET', base);
    out(
      formatTable(
        list.map((b) => ({
          ...b,
          rows: b.rowsDone,
          total: b.estimatedTotal ?? '-',
          percent: b.percent === null ? '-' : `${b.percent}%`,
          rate: b.rowsPerSecond === null ? '-' : `${b.rowsPerSecond}/s`,
          eta: b.etaSeconds === null ? '-' : `${b.etaSeconds}s`,
          error: b.error ?? '',
        })),
        ['id', 'table', 'status', 'rows', 'total', 'percent', 'rate', 'eta', 'error'],
      ),
    );
  } else if (action === 'watch' && arg) {
    await watch(api, out, `${base}/${encodeURIComponent(arg)}`, opts);
  } else if (action === 'cancel' && arg) {
    const b = await api.call<BackfillView>('DELETE', `${base}/${encodeURIComponent(arg)}`);
    out(`backfill ${b.id} of ${b.table} cancelled after ${b.rowsDone} rows`);
  } else {
    throw new CliError(`unknown backfill command: ${args.join(' ')}`);
  }
}

/** Polls one backfill and draws its progress until it finishes; fails unless it is done. */
async function watch(api: ApiClient, out: Output, path: string, opts: BackfillOptions): Promise<void> {
  const draw = opts.progress ?? statusLine();
  let b = await api.call<BackfillView>('GET', path);
  while (ACTIVE.has(b.status) && !opts.signal.aborted) {
    draw(progressLine(b), false);
    await sleepUnlessAborted(opts.pollMs ?? 500, opts.signal);
    b = await api.call<BackfillView>('GET', path);
  }
  draw(progressLine(b), true);
  if (opts.signal.aborted && ACTIVE.has(b.status)) {
    out(`stopped watching; backfill ${b.id} goes on (tributary backfill cancel to stop it)`);
    return;
  }
  if (b.status !== 'done') throw new CliError(`backfill ${b.id} of ${b.table} ${b.status}${b.error ? `: ${b.error}` : ''}`);
  out(`backfill ${b.id} of ${b.table} done: ${b.rowsDone} rows`);
}

/** `[██████░░░░] 60.0%  120,000/~200,000 rows  25,000 rows/s  ETA 3s  running` */
export function progressLine(b: BackfillView, width = 30): string {
  const fraction = b.status === 'done' ? 1 : (b.percent ?? 0) / 100;
  const n = (v: number) => v.toLocaleString('en-US');
  return [
    `[${progressBar(fraction, width)}]`,
    b.percent === null ? '  ?  ' : `${b.percent.toFixed(1)}%`,
    `${n(b.rowsDone)}/${b.estimatedTotal === null ? '?' : `~${n(Math.max(b.estimatedTotal, b.rowsDone))}`} rows`,
    b.rowsPerSecond === null ? '' : `${n(b.rowsPerSecond)} rows/s`,
    b.etaSeconds === null || b.status !== 'running' ? '' : `ETA ${b.etaSeconds}s`,
    b.status,
  ]
    .filter(Boolean)
    .join('  ');
}
