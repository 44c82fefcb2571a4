import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './api.client';
import { backfill } from './backfill.command';
import { generateWebhookSecret } from '@tributary/config';
import { apply, exportConfig } from './config-as-code';
import { dlq } from './dlq.command';
import { pause, resetOffsets, resync, status, tail, type Output } from './commands';

export const USAGE = `usage: tributary <command>

  start [api|capture|worker ...]      run the platform (all roles when none is named)
  status                               sources and consumer groups with their lag
  tail <topic> [--from-start]          follow a topic's messages as JSON lines
  offsets reset <group> --to <earliest|latest|ISO time|offset> [--topic t] [--partition n]
                                       move a paused group's committed offsets
  groups pause <group> | groups resume <group>
  sources resync <source>              after a lost slot: create it again and re-snapshot every table
  apply -f <tributary.yaml> [--dry-run] [--prune]
                                       bring sources, topics and groups (with sinks) to what the file declares,
                                       all or nothing (shows the plan first); --prune deletes what it no longer declares
  export                               the running sources, topics and groups as YAML (secrets masked)
  webhooks secret                      a new whsec_ signing secret, shown once (put it in the subscription's env)
  backfill start <source> <schema.table> [--where SQL] [--chunk-size n] [--detach]
                                       snapshot a table's rows into its topic, with a progress bar
  backfill status <source> [id] | backfill watch <source> <id> | backfill cancel <source> <id>
  dlq list [--group g] [--topic t] | dlq show <id> | dlq discard <id>
  dlq replay <id> | dlq replay --group <g>
                                       dead letters: inspect, discard, deliver again (a group's all, with a progress bar)

The API is TRIBUTARY_API_URL (default http://127.0.0.1:3000); TRIBUTARY_TOKEN is sent as a bearer token.`;

/** Runs one CLI command; returns the exit code. `start` is handled by the entry point (it never returns). */
export async function runCli(
  argv: string[],
  out: Output,
  api = ApiClient.fromEnv(),
  signal = new AbortController().signal,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      to: { type: 'string' },
      topic: { type: 'string' },
      partition: { type: 'string' },
      'from-start': { type: 'boolean', default: false },
      where: { type: 'string' },
      'chunk-size': { type: 'string' },
      detach: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      file: { type: 'string', short: 'f' },
      'dry-run': { type: 'boolean', default: false },
      prune: { type: 'boolean', default: false },
      group: { type: 'string' },
    },
  });
  const [command, sub, arg] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return command || values.help ? 0 : 64;
  }
  if (command === 'status') await status(api, out);
  else if (command === 'apply')
    await apply(api, out, values.file, { dryRun: values['dry-run'] ?? false, prune: values.prune ?? false });
  else if (command === 'export') await exportConfig(api, out);
  else if (command === 'webhooks' && sub === 'secret') out(generateWebhookSecret());
  else if (command === 'tail' && sub) await tail(api, out, sub, { fromStart: values['from-start'] ?? false, signal });
  else if (command === 'offsets' && sub === 'reset' && arg) await resetOffsets(api, out, arg, values);
  else if (command === 'groups' && (sub === 'pause' || sub === 'resume') && arg) await pause(api, out, arg, sub === 'pause');
  else if (command === 'sources' && sub === 'resync' && arg) await resync(api, out, arg);
  else if (command === 'dlq' && sub) await dlq(api, out, positionals.slice(1), { group: values.group, topic: values.topic });
  else if (command === 'backfill' && sub) {
    await backfill(api, out, positionals.slice(1), {
      where: values.where,
      chunkSize: values['chunk-size'],
      detach: values.detach,
      signal,
    });
  } else throw new CliError(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
  return 0;
}
