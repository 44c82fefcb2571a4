import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfigYaml } from '@tributary/config';

function withYaml(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
  writeFileSync(join(dir, 'tributary.yaml'), yaml);
  return () => loadConfig({ TRIBUTARY_DATABASE_URL: 'postgres://p@127.0.0.1:5432/platform', ...env }, dir);
}

describe('configuration', () => {
  it('defaults to the embedded Postgres with a source capturing schema public', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
    const config = loadConfig({}, dir);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.embedded).toEqual({ dataDir: join(dir, '.tributary'), port: 54329 });
    expect(config.sources).toEqual([
      expect.objectContaining({
        name: 'default',
        url: 'postgres://postgres@127.0.0.1:54329/tributary',
        tables: [{ schema: 'public', table: '*', topic: undefined }],
        slot: 'tributary_default',
        publication: 'tributary_default',
      }),
    ]);
  });

  it('reads sources and topics from YAML, with ${ENV} interpolation', () => {
    const config = withYaml(
      `
topicDefaults: { partitions: 8 }
sources:
  - name: shop
    url: postgres://app:\${SHOP_PASSWORD}@db:5432/shop
    tables: [public.orders, { table: public.customers, topic: customers }]
topics:
  - { name: customers, partitions: 2, retentionMs: 1000 }
`,
      { SHOP_PASSWORD: 'pw' },
    )();
    expect(config.sources[0]).toMatchObject({
      name: 'shop',
      url: 'postgres://app:pw@db:5432/shop',
      tables: [
        { schema: 'public', table: 'orders' },
        { schema: 'public', table: 'customers', topic: 'customers' },
      ],
      heartbeatIntervalMs: 10_000,
    });
    expect(config.topics).toEqual([{ name: 'customers', partitions: 2, retentionMs: 1000, retentionBytes: null }]);
    expect(config.topicDefaults.partitions).toBe(8);
  });

  it('substitutes ${ENV} into parsed values: a secret with #, ": ", quotes or a newline stays one value', () => {
    const secret = 'x#y: z\n  evil: "q\' # w';
    const text = 'a: ${S}\nb: "${S}"\nc: { d: ${N}, e: "${N}", f: p${N} }\n# ${UNSET_IN_A_COMMENT}\n';
    expect(parseConfigYaml(text, { S: secret, N: '8' }, 'f.yaml')).toEqual({
      a: secret,
      b: secret,
      c: { d: 8, e: '8', f: 'p8' },
    });
    expect(() => parseConfigYaml('a: [${UNSET}]', {}, 'f.yaml')).toThrow(
      'f.yaml: ${UNSET} is used but the environment variable UNSET is not set',
    );

    const header = 'Bearer a#b: "c\'';
    const config = withYaml(
      `
topicDefaults: { partitions: \${PARTITIONS} } # unquoted: a number, as if written here
sources: [{ name: shop, url: "postgres://app:\${SHOP_PASSWORD}@db:5432/shop", tables: [public.orders] }]
groups:
  - name: hook
    topics: [shop.public.orders]
    sink: { type: webhook, url: https://h.example/hook, secret: \${HOOK_SECRET}, headers: { authorization: \${HEADER} } }
`,
      { SHOP_PASSWORD: 'p%23w', PARTITIONS: '8', HOOK_SECRET: 'whsec_MDEyMzQ1Njc4OWFiY2RlZg==', HEADER: header },
    )();
    expect(config.topicDefaults.partitions).toBe(8);
    expect(config.sources[0].url).toBe('postgres://app:p%23w@db:5432/shop');
    expect(config.groups[0].sink).toMatchObject({
      secrets: ['whsec_MDEyMzQ1Njc4OWFiY2RlZg=='],
      headers: { authorization: header },
    });
    // A newline stays inside the value, where validation refuses it by name (textually, it added a key).
    const withNewline = withYaml(
      'groups: [{ name: g, topics: [t], sink: { type: webhook, url: https://h.example, headers: { x-key: ${V} } } }]',
      { V: 'a\nb' },
    );
    expect(withNewline).toThrow(/groups\[0\]\.sink\.headers\.x-key: must be one line/);
  });

  it.each([
    ['sources: [{ name: Shop, tables: [public.t] }]', /sources\[0\]\.name: must be a lowercase identifier/],
    ['sources: [{ name: shop, tables: [orders] }]', /sources\[0\]\.tables\[0\]: .*must be 'schema.table' or 'schema.\*'/s],
    ['sources: [{ name: shop, tables: [] }]', /sources\[0\]\.tables: must list at least one table/],
    ['sources: [{ name: shop, tables: [public.t], heartbeatIntervalMs: 5 }]', /sources\[0\]\.heartbeatIntervalMs/],
    ['sources: [{ name: shop, tables: [public.t], colour: red }]', /sources\[0\]: .*colour/],
    ['topics: [{ name: "bad topic" }]', /topics\[0\]\.name: must be 1-200 letters/],
    ['topics: [{ name: t, partitions: 0 }]', /topics\[0\]\.partitions/],
    ['sources: [{ name: a, tables: [public.t] }, { name: a, tables: [public.u] }]', /sources\[1\]\.name: duplicate source "a"/],
    ['sources: [{ name: a, url: "http://x", tables: [public.t] }]', /sources\[0\]\.url: must start with postgres:\/\//],
    [
      'sources: [{ name: a, url: "${NOPE}", tables: [public.t] }]',
      /\$\{NOPE\} is used but the environment variable NOPE is not set/,
    ],
    ['sources: [ { name: a', /not valid YAML/],
  ])('rejects %s with a message naming the key', (yaml, message) => {
    expect(withYaml(yaml)).toThrow(ConfigError);
    expect(withYaml(yaml)).toThrow(message);
  });

  it('gives database sink groups their own batch size and concurrency defaults', () => {
    const config = withYaml(`
groups:
  - { name: pg, topics: [t], sink: { type: postgres, url: "postgres://u@h/db" } }
  - { name: my, topics: [t], batchSize: 300, sink: { type: mysql, url: "mysql://u@h/db", concurrency: 2 } }
  - { name: logged, topics: [t] }
`)();
    const [pg, my, logged] = config.groups;
    expect(pg).toMatchObject({ batchSize: 2_000, sink: { type: 'postgres', concurrency: 4 } });
    expect(my).toMatchObject({ batchSize: 300, sink: { type: 'mysql', concurrency: 2 } });
    expect(logged.batchSize).toBe(500);
    const bad = withYaml(
      'groups: [{ name: pg, topics: [t], sink: { type: postgres, url: "postgres://u@h/db", concurrency: 0 } }]',
    );
    expect(bad).toThrow(/groups\[0\]\.sink\.concurrency/);
  });

  it('rejects bad environment variables by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
    expect(() => loadConfig({ TRIBUTARY_API_PORT: 'abc' }, dir)).toThrow(/TRIBUTARY_API_PORT/);
    expect(() => loadConfig({ TRIBUTARY_DATABASE_URL: 'mysql://root@127.0.0.1/x' }, dir)).toThrow(
      /TRIBUTARY_DATABASE_URL: must be a postgres:\/\/ URL/,
    );
    expect(() => loadConfig({ TRIBUTARY_DATABASE_URL: 'nope' }, dir)).toThrow(
      /TRIBUTARY_DATABASE_URL: must be a postgres:\/\/ URL/,
    );
    expect(() => loadConfig({ TRIBUTARY_CONFIG: 'missing.yaml' }, dir)).toThrow(
      /TRIBUTARY_CONFIG: file .*missing.yaml does not exist/,
    );
    expect(() => loadConfig({ TRIBUTARY_API_ALLOWED_ORIGINS: 'https://ok.example, https://x.example/path' }, dir)).toThrow(
      /TRIBUTARY_API_ALLOWED_ORIGINS\[1\]: must be origins/,
    );
    expect(() => loadConfig({ TRIBUTARY_API_ALLOWED_HOSTS: 'ok.example,bad.example:3000' }, dir)).toThrow(
      /TRIBUTARY_API_ALLOWED_HOSTS\[1\]: must be host names/,
    );
    expect(() => loadConfig({ TRIBUTARY_METRICS_PUBLIC: 'yes' }, dir)).toThrow(/TRIBUTARY_METRICS_PUBLIC: must be true or false/);
  });

  it('reads the allowed hosts and origins as lists, lowercased', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
    const config = loadConfig(
      {
        TRIBUTARY_API_ALLOWED_HOSTS: ' Tributary.Internal , .corp.example',
        TRIBUTARY_API_ALLOWED_ORIGINS: 'https://Console.corp.example',
      },
      dir,
    );
    expect(config.api).toMatchObject({
      allowedHosts: ['tributary.internal', '.corp.example'],
      allowedOrigins: ['https://console.corp.example'],
    });
    expect(config.metricsPublic).toBe(false);
    expect(loadConfig({ TRIBUTARY_METRICS_PUBLIC: 'true' }, dir).metricsPublic).toBe(true);
    expect(loadConfig({}, dir).api).toMatchObject({ allowedHosts: [], allowedOrigins: [] });
  });
});
