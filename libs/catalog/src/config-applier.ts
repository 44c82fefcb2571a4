import { isDeepStrictEqual } from 'node:util';
import type { PoolClient } from 'pg';
import type { z } from 'zod';
import {
  fileSchema,
  restoreWriteOnlySecrets,
  storedSecretsOf,
  WriteOnlySecretError,
  type GroupConfig,
  type SourceFileConfig,
  type TopicDefaults,
} from '@tributary/config';
import { TopicRepository } from '@tributary/topic-log';
import type { CatalogRepository } from './catalog.repository';
import type { GroupEntry, ManagedBy, SourceEntry } from './catalog-types';
import { clashingSource, sourceIdentityChange } from './source-identity';

export interface PlannedChange {
  action: 'create' | 'update' | 'delete' | 'unchanged' | 'conflict';
  kind: 'source' | 'topic' | 'group';
  name: string;
  /** What changes (field names only: values may be secrets). */
  detail: string;
}

export interface ApplyResult {
  changes: PlannedChange[];
  applied: boolean;
  /** Signing secrets made for new webhook subscriptions that named none: shown here once. */
  generatedSecrets: { group: string; secret: string }[];
}

export interface ApplyOptions {
  /** Only show the plan. */
  dryRun?: boolean;
  /** Delete file-managed sources and groups the document no longer declares (`true`: both kinds). */
  prune?: boolean | { sources: boolean; groups: boolean };
  managedBy?: ManagedBy;
  topicDefaults: TopicDefaults;
  /** Where sources without a URL capture from (to tell which sources share a database). */
  defaultSourceUrl: string;
}

/** Something the plan was made on changed before it was applied (an API write in between): nothing was applied. */
export class ApplyRaceError extends Error {
  constructor(name: string) {
    super(`"${name}" changed while the plan was applied; nothing was applied, apply again`);
    this.name = 'ApplyRaceError';
  }
}

/** A step's result that says the catalog is not what the plan saw: rolls the whole apply back. */
function raced(result: unknown, name: string): void {
  if (result === undefined || result === 'not_found' || result === 'conflict') throw new ApplyRaceError(name);
}

/** The document does not validate: every bad field with why. */
export class ConfigDocumentError extends Error {
  constructor(readonly issues: { field: string; reason: string }[]) {
    super(issues.map((i) => `${i.field}: ${i.reason}`).join('; '));
    this.name = 'ConfigDocumentError';
  }
}

/**
 * Config as code: brings the catalog to what a tributary.yaml document declares, all of it in one
 * transaction or none of it (a conflict, such as a changed partition count, applies nothing). Applying
 * the same document again changes nothing.
 */
export class ConfigApplier {
  constructor(private readonly catalog: CatalogRepository) {}

  async apply(document: unknown, options: ApplyOptions): Promise<ApplyResult> {
    return this.catalog.exclusively(async (client, keep) => {
      const result = await this.planAndApply(client, document, options);
      keep(result.applied); // a plan only (dry run, conflict, nothing to do) is rolled back
      return result;
    });
  }

  private async planAndApply(c: PoolClient, document: unknown, options: ApplyOptions): Promise<ApplyResult> {
    const managedBy = options.managedBy ?? 'file';
    const sources = new Map((await this.catalog.listSources(c)).map((s) => [s.name, s]));
    const groups = new Map((await this.catalog.listGroups(c)).map((g) => [g.name, g]));
    const generatedSecrets: ApplyResult['generatedSecrets'] = [];
    const doc = validate(document, sources, groups, generatedSecrets);
    const prune = typeof options.prune === 'object' ? options.prune : { sources: !!options.prune, groups: !!options.prune };
    // Listed, and made, in one order: sources, topics, groups, then what pruning deletes.
    const plan = [
      ...this.planSources(c, doc, sources, managedBy, options.defaultSourceUrl),
      ...(await planTopics(c, doc, options.topicDefaults)),
      ...this.planGroups(c, doc, groups, managedBy),
      ...(prune.sources ? this.planSourcePrune(c, doc, sources) : []),
      ...(prune.groups ? this.planGroupPrune(c, doc, groups) : []),
    ];
    const changes = plan.map((p) => p.change);
    const work = plan.flatMap((p) => (p.step ? [p.step] : []));
    const conflicted = changes.some((ch) => ch.action === 'conflict');
    // Secrets made for a plan that is not applied were never stored: not worth showing.
    if (options.dryRun || conflicted || work.length === 0) return { changes, applied: false, generatedSecrets: [] };
    for (const step of work) await step();
    return { changes, applied: true, generatedSecrets };
  }

  /** Creates and updates; a changed identity (database, slot) or a slot shared with another source is a conflict. */
  private planSources(
    c: PoolClient,
    doc: Document,
    sources: Map<string, SourceEntry>,
    managedBy: ManagedBy,
    defaultSourceUrl: string,
  ): Planned[] {
    return doc.sources.map((spec): Planned => {
      const have = sources.get(spec.name);
      const identity = have && sourceIdentityChange(have.spec, spec);
      if (identity) {
        const detail = `${identity} cannot change (capture would resume from a position that means nothing there); delete the source with dropSlot and create it again`;
        return { change: { action: 'conflict', kind: 'source', name: spec.name, detail } };
      }
      const others = [...[...sources.values()].map((s) => s.spec), ...doc.sources].filter((s) => s.name !== spec.name);
      const clash = clashingSource(spec, others, defaultSourceUrl);
      if (clash) {
        const detail = `uses the same ${clash.field} as source ${clash.other} on the same database`;
        return { change: { action: 'conflict', kind: 'source', name: spec.name, detail } };
      }
      const change = diff('source', spec.name, have?.spec, spec, `tables ${spec.tables.map(tableOf).join(', ')}`);
      if (change.action === 'create')
        return { change, step: async () => raced(await this.catalog.createSource(spec, managedBy, c), spec.name) };
      if (change.action === 'update')
        return { change, step: async () => raced(await this.catalog.updateSource(spec, { managedBy }, c), spec.name) };
      return { change };
    });
  }

  private planGroups(c: PoolClient, doc: Document, groups: Map<string, GroupEntry>, managedBy: ManagedBy): Planned[] {
    return doc.groups.map((spec): Planned => {
      const have = groups.get(spec.name);
      const change = diff('group', spec.name, have?.spec, spec, `${spec.sink.type} sink on ${spec.topics.join(', ')}`);
      if (change.action === 'create')
        return { change, step: async () => raced(await this.catalog.createGroup(spec, managedBy, c), spec.name) };
      if (change.action === 'update')
        return { change, step: async () => raced(await this.catalog.updateGroup(spec, { managedBy }, c), spec.name) };
      return { change };
    });
  }

  /** File-managed sources the document no longer declares; API-managed ones are never pruned. */
  private planSourcePrune(c: PoolClient, doc: Document, sources: Map<string, SourceEntry>): Planned[] {
    const declared = new Set(doc.sources.map((s) => s.name));
    return [...sources.values()]
      .filter((s) => s.managedBy === 'file' && !declared.has(s.name))
      .map((s) => ({
        change: { action: 'delete', kind: 'source', name: s.name, detail: 'its replication slot is kept' },
        step: () => this.catalog.deleteSource(s.name, c),
      }));
  }

  private planGroupPrune(c: PoolClient, doc: Document, groups: Map<string, GroupEntry>): Planned[] {
    const declared = new Set(doc.groups.map((g) => g.name));
    return [...groups.values()]
      .filter((g) => g.managedBy === 'file' && !declared.has(g.name))
      .map((g) => ({
        change: { action: 'delete', kind: 'group', name: g.name, detail: 'with its offsets and dead letters' },
        step: () => this.catalog.deleteGroup(g.name, c),
      }));
  }
}

/** One planned change and, when it changes something, the step that makes it (run only if the whole plan applies). */
interface Planned {
  change: PlannedChange;
  step?: () => Promise<unknown>;
}

/** Topics are created with the defaults for what the document leaves out; a changed partition count is a conflict. */
async function planTopics(c: PoolClient, doc: Document, defaults: TopicDefaults): Promise<Planned[]> {
  const plan: Planned[] = [];
  for (const t of doc.topics) {
    const current = await TopicRepository.settingsIn(c, t.name);
    if (!current) {
      const settings = {
        partitions: t.partitions ?? defaults.partitions,
        retentionMs: t.retentionMs === undefined ? defaults.retentionMs : t.retentionMs,
        retentionBytes: t.retentionBytes === undefined ? defaults.retentionBytes : t.retentionBytes,
      };
      plan.push({
        change: { action: 'create', kind: 'topic', name: t.name, detail: `${settings.partitions} partitions` },
        step: () => TopicRepository.createIn(c, t.name, settings),
      });
      continue;
    }
    const have = { partitions: current.partitions, ms: current.retentionMs, bytes: current.retentionBytes };
    if (t.partitions !== undefined && t.partitions !== have.partitions) {
      const detail = `has ${have.partitions} partitions, the document says ${t.partitions}; a partition count cannot change`;
      plan.push({ change: { action: 'conflict', kind: 'topic', name: t.name, detail } });
      continue;
    }
    const wanted = {
      retentionMs: t.retentionMs === undefined ? have.ms : t.retentionMs,
      retentionBytes: t.retentionBytes === undefined ? have.bytes : t.retentionBytes,
    };
    const changed = [wanted.retentionMs !== have.ms && 'retentionMs', wanted.retentionBytes !== have.bytes && 'retentionBytes'];
    const fields = changed.filter((f): f is string => !!f);
    const change: PlannedChange = {
      action: fields.length ? 'update' : 'unchanged',
      kind: 'topic',
      name: t.name,
      detail: fields.join(', '),
    };
    plan.push(fields.length ? { change, step: () => TopicRepository.setRetentionIn(c, t.name, wanted) } : { change });
  }
  return plan;
}

type Document = Pick<z.infer<typeof fileSchema>, 'sources' | 'topics' | 'groups'>;

function validate(
  document: unknown,
  sources: Map<string, { spec: SourceFileConfig }>,
  groups: Map<string, { spec: GroupConfig }>,
  generated: ApplyResult['generatedSecrets'],
): Document {
  const raw = isObject(document) ? { ...document } : document;
  const restore = (kind: 'sources' | 'groups', i: number, run: () => unknown): unknown => {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof WriteOnlySecretError)) throw error;
      throw new ConfigDocumentError([{ field: `${kind}[${i}].${error.field}`, reason: error.message }]);
    }
  };
  if (isObject(raw)) {
    if (Array.isArray(raw.sources)) {
      raw.sources = raw.sources.map((s: unknown, i) =>
        restore('sources', i, () => restoreWriteOnlySecrets(s, storedSecretsOf(sources.get(nameOf(s))?.spec), () => undefined)),
      );
    }
    if (Array.isArray(raw.groups)) {
      raw.groups = raw.groups.map((g: unknown, i) =>
        restore('groups', i, () =>
          restoreWriteOnlySecrets(g, storedSecretsOf(groups.get(nameOf(g))?.spec), (secret) =>
            generated.push({ group: nameOf(g), secret }),
          ),
        ),
      );
    }
  }
  const result = fileSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigDocumentError(
      result.error.issues.map((i) => ({ field: formatPath(i.path) || '(document)', reason: i.message })),
    );
  }
  return result.data;
}

function diff(kind: 'source' | 'group', name: string, have: object | undefined, wanted: object, created: string): PlannedChange {
  if (!have) return { action: 'create', kind, name, detail: created };
  const fields = changedFields(have as Record<string, unknown>, wanted as Record<string, unknown>);
  // An entry created through the API is left alone while it matches; an update makes it file-managed.
  if (!fields.length) return { action: 'unchanged', kind, name, detail: '' };
  return { action: 'update', kind, name, detail: fields.join(', ') };
}

function changedFields(have: Record<string, unknown>, wanted: Record<string, unknown>, prefix = ''): string[] {
  const keys = new Set([...Object.keys(have), ...Object.keys(wanted)]);
  const out: string[] = [];
  for (const key of keys) {
    if (isDeepStrictEqual(have[key], wanted[key])) continue;
    const [a, b] = [have[key], wanted[key]];
    if (key === 'sink' && isObject(a) && isObject(b) && a.type === b.type) out.push(...changedFields(a, b, 'sink.'));
    else out.push(prefix + key);
  }
  return out;
}

function tableOf(entry: string | { table: string }): string {
  return typeof entry === 'string' ? entry : entry.table;
}

function nameOf(value: unknown): string {
  return isObject(value) && typeof value.name === 'string' ? value.name : '';
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
