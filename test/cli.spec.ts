import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { ApiClient, CliError, runCli } from '@tributary/cli';
import { createApp } from '@tributary/runtime';
import { platformConfig } from './support/capture-harness';
import { TestCluster, waitFor } from './support/pg-cluster';
import { TestPlatform } from './support/platform';
import { builtApp } from './support/processes';

/** The `tributary` CLI against a real API and platform database. */
describe('tributary CLI', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let app: INestApplication;
  let api: ApiClient;

  async function cli(...argv: string[]): Promise<string> {
    const lines: string[] = [];
    await runCli(argv, (t) => lines.push(t), api);
    return lines.join('\n');
  }

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    await platform.createTopic('cli.t', 2);
    await platform.produce('cli.t', 2, 30, 30);
    app = (await createApp({ ...platformConfig(platform.url, []), logLevel: 'error' }, ['api'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    api = new ApiClient((await app.getUrl()).replace('[::1]', '127.0.0.1'));
    await api.call('POST', '/api/v1/groups', { name: 'cli-g', topics: ['cli.*'] });
    // A first member gives the group its committed offsets; it leaves at once.
    const { memberId } = await api.call<{ memberId: string }>('POST', '/api/v1/groups/cli-g/members', {});
    await api.call('DELETE', `/api/v1/groups/cli-g/members/${memberId}`);
  });

  afterAll(async () => {
    await app?.close();
    await platform?.close();
    await cluster?.stop();
  });

  it('prints status as a table', async () => {
    const out = await cli('status');
    expect(out).toMatch(/^NAME\s+MEMBERS\s+LAG\s+BLOCKED\s+PAUSED$/m);
    expect(out).toMatch(/^cli-g\s+0\s+30\s+0\s+no$/m);
  });

  it('pauses, resets offsets and resumes a group', async () => {
    await expect(cli('offsets', 'reset', 'cli-g', '--to', 'latest')).rejects.toThrow(/409 group "cli-g" must be paused/);
    expect(await cli('groups', 'pause', 'cli-g')).toBe('group cli-g paused');
    const out = await cli('offsets', 'reset', 'cli-g', '--to', 'latest', '--topic', 'cli.t');
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^TOPIC\s+PARTITION\s+FROM\s+TO$/),
      expect.stringMatching(/^cli\.t\s+0\s+0\s+\d+$/),
      expect.stringMatching(/^cli\.t\s+1\s+0\s+\d+$/),
    ]);
    expect(await cli('status')).toMatch(/^cli-g\s+0\s+0\s+0\s+yes$/m);
    await expect(cli('offsets', 'reset', 'cli-g', '--to', '99999', '--topic', 'cli.t', '--partition', '0')).rejects.toThrow(
      /422 offset 99999 is outside/,
    );
    expect(await cli('groups', 'resume', 'cli-g')).toBe('group cli-g resumed');
  });

  it('tails a topic from the start and follows new messages', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runCli(['tail', 'cli.t', '--from-start'], (t) => lines.push(t), api, stop.signal);
    await waitFor(() => lines.length === 30, 'the 30 existing messages');
    await platform.produce('cli.t', 2, 5, 5, 30);
    await waitFor(() => lines.length === 35, 'the 5 new ones');
    stop.abort();
    await running;
    const seqs = lines.map((l) => JSON.parse(l).envelope.after.seq as number).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 35 }, (_, i) => i));
  });

  it('explains bad usage and an unreachable API', async () => {
    await expect(cli('frobnicate')).rejects.toThrow(CliError);
    await expect(cli('offsets', 'reset', 'cli-g')).rejects.toThrow(/--to is required/);
    await expect(cli('status', '--bogus')).rejects.toThrow(/Unknown option '--bogus'/);
    const nowhere = new ApiClient('http://127.0.0.1:1');
    await expect(runCli(['status'], () => undefined, nowhere)).rejects.toThrow(
      /cannot reach the Tributary API at http:\/\/127.0.0.1:1/,
    );
  });

  it('is installed as a command that prints its usage', () => {
    const out = execFileSync(process.execPath, [builtApp('cli'), '--help']).toString();
    expect(out).toMatch(/^usage: tributary <command>/);
  });

  it('applies sources, topics and groups from a file all or nothing, idempotently, and exports them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-apply-'));
    try {
      const file = join(dir, 'tributary.yaml');
      process.env.CLI_TEST_SINK_URL = `${platform.url}?application_name=from-env`;
      writeFileSync(
        file,
        [
          'sources: [{ name: default, tables: [public.*] }]',
          'topics:',
          '  - { name: audit, partitions: 2, retentionMs: 3600000 }',
          'groups:',
          '  - name: auditors',
          '    topics: [audit]',
          '    sink: { type: log }',
          '  - name: mirror',
          '    topics: [audit]',
          '    sink: { type: postgres, url: "${CLI_TEST_SINK_URL}" }',
          '  - name: hooks',
          '    topics: [audit]',
          '    sink: { type: webhook, url: "http://127.0.0.1:9/hook" }',
        ].join('\n'),
      );
      const plan = await cli('apply', '-f', file, '--dry-run');
      expect(plan).toMatch(/^create\s+source\s+default\s+tables public\.\*$/m);
      expect(plan).toMatch(/^create\s+topic\s+audit\s+2 partitions$/m);
      expect(plan).toMatch(/^create\s+group\s+auditors\s+log sink on audit$/m);
      expect(plan).toMatch(/5 to change, 0 unchanged, 0 conflict\(s\)/);
      expect((await api.call('GET', '/api/v1/topics/audit').catch((e: Error) => e.message)) as string).toMatch(/404/);

      const applied = await cli('apply', '-f', file);
      expect(applied).toMatch(/applied 5 change\(s\)/);
      // A webhook group that names no secret gets one, printed this once.
      const secret = /signing secret of webhook group hooks .*: (whsec_\S+)/.exec(applied)?.[1];
      expect(secret).toMatch(/^whsec_/);
      expect(await api.call('GET', '/api/v1/topics/audit')).toMatchObject({ partitions: 2, retentionMs: 3_600_000 });
      expect(await api.call('GET', '/api/v1/sources')).toEqual([
        expect.objectContaining({ name: 'default', managedBy: 'file', tables: ['public.*'] }),
      ]);
      const mirror = await api.call<{ sink: unknown }>('GET', '/api/v1/groups/mirror');
      expect(mirror.sink).toMatchObject({ type: 'postgres', url: expect.stringContaining('application_name=from-env') });
      const hooks = await api.call<{ sink: unknown; version: number }>('GET', '/api/v1/groups/hooks');
      expect(hooks.sink).toMatchObject({ type: 'webhook', secretCount: 1 });
      expect(JSON.stringify(hooks)).not.toContain(secret);

      const again = await cli('apply', '-f', file);
      expect(again).toMatch(/0 to change, 5 unchanged, 0 conflict\(s\)/);
      expect(again).not.toMatch(/applied|signing secret/);
      expect((await api.call<{ version: number }>('GET', '/api/v1/groups/hooks')).version).toBe(hooks.version); // the stored secret stays

      // A conflict anywhere applies nothing, not even the valid retention change next to it.
      writeFileSync(
        file,
        ['topics:', '  - { name: audit, partitions: 2, retentionMs: null }', '  - { name: cli.t, partitions: 9 }'].join('\n'),
      );
      await expect(cli('apply', '-f', file)).rejects.toThrow(/1 conflict\(s\): nothing was applied/);
      expect(await api.call('GET', '/api/v1/topics/audit')).toMatchObject({ retentionMs: 3_600_000 });

      writeFileSync(file, 'topics:\n  - { name: "bad name" }\n');
      await expect(cli('apply', '-f', file)).rejects.toThrow(/400 topics\[0\]\.name: must be 1-200 letters/);
      writeFileSync(file, 'groups:\n  - { name: g, topics: [t], sink: { type: postgres, url: "${CLI_TEST_UNSET}" } }\n');
      await expect(cli('apply', '-f', file)).rejects.toThrow(/CLI_TEST_UNSET is not set/);
      await expect(cli('apply')).rejects.toThrow(/-f <file> is required/);

      const exported = await cli('export');
      expect(exported).toMatch(/- name: audit\n\s+partitions: 2\n\s+retentionMs: 3600000/);
      expect(exported).toMatch(/- name: auditors\n\s+topics:\n\s+- audit/);
      expect(exported).not.toContain(secret);
      writeFileSync(file, exported);
      expect(await cli('apply', '-f', file)).toMatch(/0 to change, \d+ unchanged, 0 conflict\(s\)/);

      // --prune deletes what the file (applied before) no longer declares; without it nothing is deleted.
      writeFileSync(file, 'groups:\n  - { name: auditors, topics: [audit], sink: { type: log } }\n');
      expect(await cli('apply', '-f', file)).toMatch(/0 to change, 1 unchanged/);
      const pruned = await cli('apply', '-f', file, '--prune');
      expect(pruned).toMatch(/^delete\s+source\s+default/m);
      expect(pruned).toMatch(/^delete\s+group\s+mirror/m);
      expect(pruned).toMatch(/^delete\s+group\s+hooks/m);
      expect(pruned).toMatch(/applied 3 change\(s\)/);
      expect((await api.call<{ name: string }[]>('GET', '/api/v1/groups')).map((g) => g.name).sort()).toEqual([
        'auditors',
        'cli-g',
      ]);
    } finally {
      delete process.env.CLI_TEST_SINK_URL;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes webhook signing secrets', async () => {
    const [a, b] = [await cli('webhooks', 'secret'), await cli('webhooks', 'secret')];
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(b).not.toBe(a);
  });
});
