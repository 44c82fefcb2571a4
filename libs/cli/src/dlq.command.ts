import type { ApiClient } from './api-client';
import { CliError } from './api-client';
import type { Output } from './commands';
import { progressBar, statusLine, type StatusLine } from '@tributary/terminal';
import { formatTable } from './table';

interface DeadLetterRow {
  id: string;
  group: string;
  topic: string;
  partition: number;
  offset: string;
  attempts: number;
  error: string;
  createdAt: string;
}

/** What replaying dead letters answers (POST /api/v1/dead-letters/:id/replay). */
interface ReplayResult {
  delivered: number;
  resolvedDeadLetters: string[];
  failed: { error?: string }[];
}

export interface DlqOptions {
  group?: string;
  topic?: string;
  /** Where the progress bar of `replay --group` goes; default stderr. */
  progress?: StatusLine;
}

/**
 * `tributary dlq list [--group g] [--topic t]`, `dlq show <id>`, `dlq discard <id>`,
 * `dlq replay <id>` or `dlq replay --group g` (every dead letter of the group, with a progress bar).
 */
export async function dlq(api: ApiClient, out: Output, args: string[], opts: DlqOptions): Promise<void> {
  const [action, id] = args;
  const path = (i: string) => `/api/v1/dead-letters/${encodeURIComponent(i)}`;
  if (action === 'list') {
    const rows = await listAll(api, opts);
    out(
      formatTable(
        rows.map((r) => ({ ...r, error: r.error.length > 60 ? `${r.error.slice(0, 57)}...` : r.error })),
        ['id', 'group', 'topic', 'partition', 'offset', 'attempts', 'error', 'createdAt'],
      ),
    );
  } else if (action === 'show' && id) out(JSON.stringify(await api.call('GET', path(id)), null, 2));
  else if (action === 'discard' && id) {
    await api.call('DELETE', path(id));
    out(`dead letter ${id} discarded`);
  } else if (action === 'replay' && id) {
    const result = await api.call<ReplayResult>('POST', `${path(id)}/replay`);
    if (!result.resolvedDeadLetters.includes(id)) {
      throw new CliError(`dead letter ${id} is still there: ${result.failed[0]?.error ?? 'not delivered'}`);
    }
    out(
      result.delivered === 1
        ? `dead letter ${id} delivered and removed`
        : `dead letter ${id} removed (the subscription's filter skips it)`,
    );
  } else if (action === 'replay' && opts.group) {
    await replayGroup(api, out, opts);
  } else
    throw new CliError(
      'usage: tributary dlq list [--group g] [--topic t] | show <id> | discard <id> | replay <id> | replay --group g',
    );
}

async function replayGroup(api: ApiClient, out: Output, opts: DlqOptions): Promise<void> {
  const rows = (await listAll(api, opts)).reverse(); // oldest first: the order they were parked in
  const draw = opts.progress ?? statusLine();
  let delivered = 0;
  const failed: string[] = [];
  for (const [i, r] of rows.entries()) {
    const result = await api
      .call<ReplayResult>('POST', `/api/v1/dead-letters/${r.id}/replay`)
      .catch((): Pick<ReplayResult, 'resolvedDeadLetters'> => ({ resolvedDeadLetters: [] }));
    if (result.resolvedDeadLetters.includes(r.id)) delivered++;
    else failed.push(r.id);
    draw(bar(i + 1, rows.length), i + 1 === rows.length);
  }
  out(`${delivered} of ${rows.length} dead letter(s) of group ${opts.group} delivered and removed`);
  if (failed.length) throw new CliError(`not delivered (still dead letters): ${failed.join(', ')}`);
}

async function listAll(api: ApiClient, opts: DlqOptions): Promise<DeadLetterRow[]> {
  const rows: DeadLetterRow[] = [];
  for (;;) {
    const query = new URLSearchParams({ limit: '1000' });
    if (opts.group) query.set('group', opts.group);
    if (opts.topic) query.set('topic', opts.topic);
    if (rows.length) query.set('before', rows[rows.length - 1].id);
    const page = await api.call<DeadLetterRow[]>('GET', `/api/v1/dead-letters?${query.toString()}`);
    rows.push(...page);
    if (page.length < 1000) return rows;
  }
}

function bar(done: number, total: number): string {
  return `[${progressBar(total ? done / total : 1, 30)}]  ${done}/${total} dead letters`;
}
