import type { ApiClient } from './api-client';
import { CliError } from './api-client';
import { sleepUnlessAborted } from '@tributary/timing';
import { formatTable } from './table';

export type Output = (text: string) => void;

/** `tributary status`: sources with their capture state, then groups with their lag. */
export async function status(api: ApiClient, out: Output): Promise<void> {
  const sources = await api.call<Record<string, unknown>[]>('GET', '/api/v1/sources');
  out(
    formatTable(
      sources.map((s) => {
        const capture = s.capture as { state?: string; messagesAppended?: number } | null;
        return {
          source: s.name,
          state: capture?.state ?? '(other process)',
          checkpoint: s.checkpointLsn ?? '-',
          appended: capture?.messagesAppended ?? '-',
        };
      }),
      ['source', 'state', 'checkpoint', 'appended'],
    ),
  );
  out('');
  const groups = await api.call<Record<string, unknown>[]>('GET', '/api/v1/groups');
  out(
    formatTable(
      groups.map((g) => ({ ...g, paused: g.paused ? 'yes' : 'no' })),
      ['name', 'members', 'lag', 'blocked', 'paused'],
    ),
  );
}

/** `tributary tail <topic>`: prints new messages of every partition as JSON lines until stopped. */
export async function tail(
  api: ApiClient,
  out: Output,
  topic: string,
  opts: { fromStart: boolean; signal: AbortSignal; pollMs?: number },
): Promise<void> {
  const info = await api.call<{ offsets: { partition: number; earliest: string; end: string }[] }>(
    'GET',
    `/api/v1/topics/${encodeURIComponent(topic)}`,
  );
  const next = new Map<number, string>(info.offsets.map((o) => [o.partition, opts.fromStart ? o.earliest : o.end]));
  while (!opts.signal.aborted) {
    let got = 0;
    for (const [partition, offset] of next) {
      const page = await api.call<{ messages: unknown[]; nextOffset: string }>(
        'GET',
        `/api/v1/topics/${encodeURIComponent(topic)}/messages?partition=${partition}&offset=${offset}&limit=500`,
      );
      for (const m of page.messages) out(JSON.stringify(m));
      got += page.messages.length;
      next.set(partition, page.nextOffset);
    }
    if (!got) await sleepUnlessAborted(opts.pollMs ?? 500, opts.signal);
  }
}

/** `tributary offsets reset <group> --to earliest|latest|<ISO time>|<offset> [--topic t] [--partition n]`. */
export async function resetOffsets(
  api: ApiClient,
  out: Output,
  group: string,
  opts: { to?: string; topic?: string; partition?: string },
): Promise<void> {
  if (!opts.to) throw new CliError('--to is required: earliest, latest, an ISO 8601 time, or an offset');
  const to =
    opts.to === 'earliest' || opts.to === 'latest'
      ? opts.to
      : /^\d+$/.test(opts.to)
        ? { offset: opts.to }
        : { timestamp: opts.to };
  const body = {
    to,
    ...(opts.topic ? { topic: opts.topic } : {}),
    ...(opts.partition !== undefined ? { partition: Number(opts.partition) } : {}),
  };
  const result = await api.call<{ resets: Record<string, unknown>[] }>(
    'POST',
    `/api/v1/groups/${encodeURIComponent(group)}/offsets/reset`,
    body,
  );
  out(formatTable(result.resets, ['topic', 'partition', 'from', 'to']));
}

export async function pause(api: ApiClient, out: Output, group: string, paused: boolean): Promise<void> {
  await api.call('POST', `/api/v1/groups/${encodeURIComponent(group)}/${paused ? 'pause' : 'resume'}`);
  out(`group ${group} ${paused ? 'paused' : 'resumed'}`);
}

/** `tributary sources resync <source>`: the fix for a lost slot (docs/operations.md). */
export async function resync(api: ApiClient, out: Output, source: string): Promise<void> {
  const r = await api.call<{ slot: string; consistentLsn: string; tables: string[] }>(
    'POST',
    `/api/v1/sources/${encodeURIComponent(source)}/resync`,
    {},
  );
  out(`source ${source}: slot ${r.slot} created again at ${r.consistentLsn}`);
  out(`${r.tables.length} table(s) reset in their topics and snapshotted again: ${r.tables.join(', ')}`);
}
