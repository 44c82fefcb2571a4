import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { groupSchema, topicSchema } from '@tributary/config';
import { ApiClient, CliError } from './api.client';
import type { Output } from './commands';
import { formatTable } from './table';

/** The part of tributary.yaml the API manages: topics and consumer groups (sources and sinks stay in the file). */
const managedFile = z
  .object({
    topics: z
      .array(
        topicSchema.extend({
          retentionMs: z.number().int().min(1_000).nullable().optional(),
          retentionBytes: z.number().int().min(1).nullable().optional(),
        }),
      )
      .default([]),
    // Sinks, members and retries stay with the workers that read the file: only the definition is applied.
    groups: z
      .array(groupSchema.pick({ name: true, topics: true, startFrom: true, resetPolicy: true, sessionTimeoutMs: true }).loose())
      .default([]),
  })
  .passthrough();

interface Change {
  action: 'create' | 'update' | 'unchanged' | 'conflict';
  kind: 'topic' | 'group';
  name: string;
  detail: string;
  apply?: () => Promise<unknown>;
}

/** `tributary apply -f file [--dry-run]`: shows the plan, then applies it; a second apply changes nothing. */
export async function apply(api: ApiClient, out: Output, file: string | undefined, dryRun: boolean): Promise<void> {
  if (!file) throw new CliError('-f <file> is required');
  const wanted = readManaged(file);
  const plan = [...(await planTopics(api, wanted.topics)), ...(await planGroups(api, wanted.groups))];
  out(
    formatTable(
      plan.map((c) => ({ ...c })),
      ['action', 'kind', 'name', 'detail'],
    ),
  );
  const pending = plan.filter((c) => c.apply);
  const conflicts = plan.filter((c) => c.action === 'conflict');
  out(
    `\n${pending.length} to change, ${plan.length - pending.length - conflicts.length} unchanged, ${conflicts.length} conflict(s)`,
  );
  if (dryRun || pending.length === 0) return;
  for (const change of pending) await change.apply?.();
  out(`applied ${pending.length} change(s)`);
  if (conflicts.length) throw new CliError(`${conflicts.length} conflict(s) left as they are: see the plan above`);
}

/** `tributary export`: the running topics and groups as YAML, in the shape `apply` takes. */
export async function exportConfig(api: ApiClient, out: Output): Promise<void> {
  const topics = (await api.call('GET', '/api/v1/topics')) as {
    name: string;
    partitions: number;
    retentionMs: number | null;
    retentionBytes: number | null;
  }[];
  const overview = (await api.call('GET', '/api/v1/groups')) as { name: string }[];
  const groups = [];
  for (const g of overview) {
    const full = await api.call('GET', `/api/v1/groups/${encodeURIComponent(g.name)}`);
    groups.push({
      name: full.name,
      topics: full.topics,
      startFrom: full.startFrom,
      resetPolicy: full.resetPolicy,
      sessionTimeoutMs: full.sessionTimeoutMs,
    });
  }
  out(
    stringify({
      topics: topics.map(({ name, partitions, retentionMs, retentionBytes }) => ({
        name,
        partitions,
        retentionMs,
        retentionBytes,
      })),
      groups,
    }).trimEnd(),
  );
}

function readManaged(file: string): z.infer<typeof managedFile> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const result = managedFile.safeParse(parse(text) ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `  - ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n');
    throw new CliError(`Invalid ${file}:\n${issues}`);
  }
  return result.data;
}

async function planTopics(api: ApiClient, wanted: z.infer<typeof managedFile>['topics']): Promise<Change[]> {
  const current = new Map(
    (
      (await api.call('GET', '/api/v1/topics')) as {
        name: string;
        partitions: number;
        retentionMs: number | null;
        retentionBytes: number | null;
      }[]
    ).map((t) => [t.name, t]),
  );
  return wanted.map((t): Change => {
    const have = current.get(t.name);
    const path = `/api/v1/topics/${encodeURIComponent(t.name)}`;
    if (!have)
      return {
        action: 'create',
        kind: 'topic',
        name: t.name,
        detail: `${t.partitions ?? 'default'} partitions`,
        apply: () => api.call('POST', '/api/v1/topics', t),
      };
    if (t.partitions !== undefined && t.partitions !== have.partitions) {
      return {
        action: 'conflict',
        kind: 'topic',
        name: t.name,
        detail: `has ${have.partitions} partitions, the file says ${t.partitions}; partition counts cannot change`,
      };
    }
    const change: Record<string, number | null> = {};
    if (t.retentionMs !== undefined && t.retentionMs !== have.retentionMs) change.retentionMs = t.retentionMs;
    if (t.retentionBytes !== undefined && t.retentionBytes !== have.retentionBytes) change.retentionBytes = t.retentionBytes;
    if (!Object.keys(change).length) return { action: 'unchanged', kind: 'topic', name: t.name, detail: '' };
    return {
      action: 'update',
      kind: 'topic',
      name: t.name,
      detail: Object.entries(change)
        .map(([k, v]) => `${k} → ${v}`)
        .join(', '),
      apply: () => api.call('PATCH', path, change),
    };
  });
}

async function planGroups(api: ApiClient, wanted: z.infer<typeof managedFile>['groups']): Promise<Change[]> {
  const current = new Set(((await api.call('GET', '/api/v1/groups')) as { name: string }[]).map((g) => g.name));
  const changes: Change[] = [];
  for (const g of wanted) {
    if (!current.has(g.name)) {
      const definition = {
        name: g.name,
        topics: g.topics,
        startFrom: g.startFrom,
        resetPolicy: g.resetPolicy,
        sessionTimeoutMs: g.sessionTimeoutMs,
      };
      changes.push({
        action: 'create',
        kind: 'group',
        name: g.name,
        detail: g.topics.join(', '),
        apply: () => api.call('POST', '/api/v1/groups', definition),
      });
      continue;
    }
    const have = await api.call('GET', `/api/v1/groups/${encodeURIComponent(g.name)}`);
    const differs = ['topics', 'startFrom', 'resetPolicy', 'sessionTimeoutMs'].filter(
      (k) => JSON.stringify(have[k]) !== JSON.stringify((g as Record<string, unknown>)[k]),
    );
    changes.push(
      differs.length
        ? {
            action: 'conflict',
            kind: 'group',
            name: g.name,
            detail: `differs in ${differs.join(', ')}; the API cannot change a group's definition yet`,
          }
        : { action: 'unchanged', kind: 'group', name: g.name, detail: '' },
    );
  }
  return changes;
}
