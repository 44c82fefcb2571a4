import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ConfigError, parseConfigYaml } from '@tributary/config';
import type { ApiClient } from './api-client';
import { CliError } from './api-client';
import type { Output } from './commands';
import { formatTable } from './table';

interface PlannedChange {
  action: string;
  kind: string;
  name: string;
  detail: string;
}

/**
 * `tributary apply -f file [--dry-run] [--prune]`: shows the plan, then applies the file's sources, topics
 * and groups in one transaction on the server (all or nothing); a second apply changes nothing. `${VAR}`
 * in the file is read from this shell's environment, so secrets can stay out of it.
 */
export async function apply(
  api: ApiClient,
  out: Output,
  file: string | undefined,
  options: { dryRun: boolean; prune: boolean },
): Promise<void> {
  if (!file) throw new CliError('-f <file> is required');
  const document = readDocument(file);
  const query = (dryRun: boolean) => `/api/v1/config/apply?dryRun=${dryRun}&prune=${options.prune}`;
  const plan = await api.call<{ changes: PlannedChange[] }>('POST', query(true), document);
  out(
    formatTable(
      plan.changes.map((c) => ({ ...c })),
      ['action', 'kind', 'name', 'detail'],
    ),
  );
  const pending = plan.changes.filter((c) => ['create', 'update', 'delete'].includes(c.action)).length;
  const conflicts = plan.changes.filter((c) => c.action === 'conflict').length;
  out(`\n${pending} to change, ${plan.changes.length - pending - conflicts} unchanged, ${conflicts} conflict(s)`);
  if (conflicts) throw new CliError(`${conflicts} conflict(s): nothing was applied; see the plan above`);
  if (options.dryRun || pending === 0) return;
  const result = await api.call<{
    changes: PlannedChange[];
    generatedSecrets: { group: string; secret: string }[];
  }>('POST', query(false), document);
  out(`applied ${result.changes.filter((c) => ['create', 'update', 'delete'].includes(c.action)).length} change(s)`);
  for (const s of result.generatedSecrets) {
    out(`signing secret of webhook group ${s.group} (shown once, keep it for the receiver): ${s.secret}`);
  }
}

/** `tributary export`: the running sources, topics and groups as YAML that `apply` takes back unchanged. */
export async function exportConfig(api: ApiClient, out: Output): Promise<void> {
  const document = await api.call<Record<string, unknown>>('GET', '/api/v1/config');
  out(
    [
      '# Exported by `tributary export`. Passwords show as *** and webhook secrets are left out:',
      '# `tributary apply` keeps the stored ones for both.',
      stringify(document).trimEnd(),
    ].join('\n'),
  );
}

function readDocument(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return parseConfigYaml(text, process.env, file) ?? {};
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message);
    throw new CliError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
}
