import type { INestApplicationContext } from '@nestjs/common';
import { CatalogRepository } from '@tributary/catalog';
import { groupSchema, sourceSchema, type TributaryConfig } from '@tributary/config';
import { createApp } from '@tributary/runtime';
import { platformConfig } from './support/capture-harness';
import { TestCluster } from './support/pg-cluster';
import { TestPlatform } from './support/platform';

/**
 * What a process's tributary.yaml does to the catalog at start-up: creates and updates what it declares,
 * removes the file-managed entries of a kind it declares but no longer lists, leaves kinds it does not
 * mention and everything created through the API alone, and refuses to start on a conflict.
 */
describe('seeding the catalog from tributary.yaml at start-up', () => {
  let cluster: TestCluster;
  let platform: TestPlatform;
  let catalog: CatalogRepository;

  beforeAll(async () => {
    cluster = await TestCluster.start(18);
    platform = await TestPlatform.create(cluster, 'platform');
    catalog = new CatalogRepository(platform.pool);
  });

  afterAll(async () => {
    await platform?.close();
    await cluster?.stop();
  });

  const source = (name: string, extra: Record<string, unknown> = {}) =>
    sourceSchema.parse({ name, tables: ['public.t'], ...extra });
  const group = (name: string) => groupSchema.parse({ name, topics: ['t'], sink: { type: 'log' } });

  /** Starts (and stops) a process whose file declares these sources and groups. */
  async function startWith(declared: TributaryConfig['declared']): Promise<void> {
    const app: INestApplicationContext = await createApp({ ...platformConfig(platform.url, []), logLevel: 'error', declared }, [
      'api',
    ]);
    await app.init();
    await app.close();
  }

  const names = async () => ({
    sources: (await catalog.listSources()).map((s) => `${s.name}:${s.managedBy}`),
    groups: (await catalog.listGroups()).map((g) => `${g.name}:${g.managedBy}`),
  });

  it('creates, updates and removes what the file declares, per kind, and never what the API made', async () => {
    await startWith({ sources: [source('a'), source('b')], groups: [group('g1')] });
    expect(await names()).toEqual({ sources: ['a:file', 'b:file'], groups: ['g1:file'] });
    await catalog.createSource(source('made_by_api'), 'api');

    // A worker's file: only groups. Sources are left alone.
    await startWith({ sources: [], groups: [group('g1'), group('g2')] });
    expect(await names()).toEqual({ sources: ['a:file', 'b:file', 'made_by_api:api'], groups: ['g1:file', 'g2:file'] });

    // The capture's file drops b and changes a: b goes, a is updated, the API's source stays, groups stay.
    await startWith({ sources: [source('a', { batchSize: 10 })], groups: [] });
    expect(await names()).toEqual({ sources: ['a:file', 'made_by_api:api'], groups: ['g1:file', 'g2:file'] });
    expect((await catalog.getSource('a'))?.spec.batchSize).toBe(10);
    expect((await catalog.getSource('a'))?.version).toBe(2);

    // The same file again changes nothing.
    await startWith({ sources: [source('a', { batchSize: 10 })], groups: [] });
    expect((await catalog.getSource('a'))?.version).toBe(2);
  });

  it('refuses to start when the file conflicts with the catalog, and changes nothing', async () => {
    const before = await names();
    await expect(
      startWith({ sources: [source('a', { batchSize: 10, slot: 'elsewhere' }), source('c')], groups: [] }),
    ).rejects.toThrow(/conflicts with the catalog: source a: slot cannot change/);
    expect(await names()).toEqual(before);
    expect((await catalog.getSource('a'))?.spec.slot).toBeUndefined();
  });
});
