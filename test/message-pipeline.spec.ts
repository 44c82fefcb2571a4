import { groupSchema, type GroupConfig } from '@tributary/config';
import { MessagePipeline, TransformError } from '@tributary/message-pipeline';
import type { ConsumedMessage } from '@tributary/sink-contract';

/** A captured row change as the topics hold it (docs/envelope.md). */
function message(
  offset: number,
  op: string,
  after: Record<string, unknown> | null,
  before: Record<string, unknown> | null = null,
): ConsumedMessage {
  const envelope = {
    id: `src:0/1:${offset}`,
    op,
    key: { id: (after ?? before)?.id ?? null },
    before,
    after,
    source: { name: 'src', database: 'src', schema: 'public', table: 'orders', lsn: '0/16B3748', ts_ms: 1767225600000 },
    ts_ms: 1767225600001,
  };
  return {
    topic: 'src.public.orders',
    partition: 0,
    offset: BigInt(offset),
    key: `{"id":${offset}}`,
    envelope: JSON.stringify(envelope),
    appendedAt: new Date(),
  };
}

function group(extra: Record<string, unknown>): GroupConfig {
  return groupSchema.parse({ name: 'g', topics: ['src.public.*'], ...extra });
}

const pipelines: MessagePipeline[] = [];
function pipeline(extra: Record<string, unknown>): MessagePipeline {
  const p = new MessagePipeline(group(extra));
  pipelines.push(p);
  return p;
}
afterAll(async () => {
  for (const p of pipelines) await p.close();
});

const values = (out: ConsumedMessage[]) => out.map((m) => JSON.parse(m.envelope) as Record<string, Record<string, unknown>>);

describe('filter', () => {
  it('keeps messages by operation, table and column values, nested JSON paths included', async () => {
    const p = pipeline({
      filter: {
        operations: ['c', 'u'],
        tables: ['public.*'],
        where: [
          { path: 'after.total', gte: 100 },
          { path: 'after.meta.country', in: ['DE', 'FR'] },
          { path: 'after.note', isNull: true },
          { path: 'after.status', notEquals: 'void' },
        ],
      },
    });
    const batch = [
      message(1, 'c', { id: 1, total: 150, meta: { country: 'DE' }, note: null, status: 'paid' }),
      message(2, 'c', { id: 2, total: 99.5, meta: { country: 'DE' }, note: null, status: 'paid' }),
      message(3, 'u', { id: 3, total: '250.00', meta: { country: 'FR' }, status: 'open' }),
      message(4, 'c', { id: 4, total: 150, meta: { country: 'US' }, note: null, status: 'paid' }),
      message(5, 'd', null, { id: 5, total: 500, meta: { country: 'DE' } }),
      message(6, 'c', { id: 6, total: 150, meta: { country: 'DE' }, note: 'x', status: 'paid' }),
      message(7, 'c', { id: 7, total: 150, meta: { country: 'DE' }, note: null, status: 'void' }),
    ];
    const out = await p.apply(batch);
    expect(out.map((m) => m.offset)).toEqual([1n, 3n]);
    expect(out[0]).toBe(batch[0]); // unchanged messages pass as they are
  });

  it('matches tables exactly and by schema pattern', async () => {
    expect(await pipeline({ filter: { tables: ['public.items'] } }).apply([message(1, 'c', { id: 1 })])).toEqual([]);
    expect(await pipeline({ filter: { tables: ['public.orders'] } }).apply([message(1, 'c', { id: 1 })])).toHaveLength(1);
  });
});

describe('built-in transforms', () => {
  it('mask, hash (keyed HMAC), drop, rename and addSource, in order, on both rows; numbers keep every digit', async () => {
    const p = pipeline({
      transforms: [
        { type: 'mask', columns: ['email'] },
        { type: 'hash', columns: ['ssn'], key: 'k'.repeat(32) },
        { type: 'drop', columns: ['password'] },
        { type: 'rename', columns: { name: 'full_name' } },
        { type: 'addSource', fields: ['op', 'table', 'lsn'] },
      ],
    });
    const m = message(
      1,
      'u',
      { id: 1, email: 'a@b.c', ssn: '123', password: 'x', name: 'Ann', big: 1 },
      { id: 1, email: 'old@b.c', ssn: '123', password: 'y', name: 'An', big: 1 },
    );
    m.envelope = m.envelope.replace(/"big":1/g, '"big":12345678901234567890.50');
    const [out] = values(await p.apply([m]));
    const other = values(await pipeline({ transforms: [{ type: 'hash', columns: ['ssn'], key: 'z'.repeat(32) }] }).apply([m]))[0];
    expect(Object.keys(out.after)).toEqual(['id', 'email', 'ssn', 'full_name', 'big', '__op', '__table', '__lsn']);
    expect(out.after).toMatchObject({ email: '****', full_name: 'Ann', __op: 'u', __table: 'orders', __lsn: '0/16B3748' });
    expect(out.before).toMatchObject({ email: '****', full_name: 'An' });
    expect(out.after.ssn).toMatch(/^[0-9a-f]{64}$/);
    expect(out.after.ssn).toBe(out.before.ssn); // equal values stay joinable
    expect(other.after.ssn).not.toBe(out.after.ssn); // and depend on the key
    expect((await p.apply([m]))[0].envelope).toContain('"big":12345678901234567890.50');
    // A string holding the character that stands in for exact numbers while writing: still exact, the string intact.
    const marked = { ...m, envelope: m.envelope.replace('"Ann"', '"A\\ue000nn"') };
    const [written] = await p.apply([marked]);
    expect(written.envelope).toContain('"big":12345678901234567890.50');
    expect(JSON.parse(written.envelope).after.full_name).toBe('A\ue000nn');
  });

  it('flatten: the row, a delete as its old row with __deleted, truncates dropped', async () => {
    const p = pipeline({ transforms: [{ type: 'flatten' }] });
    const out = values(await p.apply([message(1, 'c', { id: 1 }), message(2, 'd', null, { id: 2 }), message(3, 't', null)]));
    expect(out).toEqual([{ id: 1 }, { id: 2, __deleted: true }]);
  });
});

describe('route', () => {
  it('a template reads the message as captured, before the transforms', async () => {
    const p = pipeline({
      transforms: [{ type: 'rename', columns: { tenant: 'org' } }],
      route: '{schema}.{table}_{after.tenant}_{op}',
    });
    const [out] = await p.apply([message(1, 'c', { id: 1, tenant: 'acme' })]);
    expect(out.route).toBe('public.orders_acme_c');
  });

  it('a placeholder without a value fails the message instead of sending it somewhere made up', async () => {
    await expect(pipeline({ route: '{after.tenant}' }).apply([message(1, 'c', { id: 1 })])).rejects.toThrow(/has no value/);
  });

  it('a route function chooses per message; null keeps the default', async () => {
    const p = pipeline({ route: { function: 'export default (m: { value: any }) => m.value.after.id > 1 ? "big" : null;' } });
    const out = await p.apply([message(1, 'c', { id: 1 }), message(2, 'c', { id: 2 })]);
    expect(out.map((m) => m.route)).toEqual([undefined, 'big']);
  });
});

describe('transform function', () => {
  it('TypeScript: returns one message, several (each with its route), or none; the outputs keep the offset', async () => {
    const source = `
      interface Msg { offset: string; value: { op: string; after: Record<string, unknown> | null } }
      export default function (m: Msg): Msg | Msg[] | null {
        if (m.value.op === 'd') return null;
        if (m.value.after?.id === 2) return [m, { ...m, route: 'audit', value: { ...m.value, after: { ...m.value.after, seen: true } } } as Msg];
        return m;
      }`;
    const out = await pipeline({ transform: source }).apply([
      message(1, 'c', { id: 1 }),
      message(2, 'c', { id: 2 }),
      message(3, 'd', null, { id: 3 }),
    ]);
    expect(out.map((m) => [m.offset, m.route])).toEqual([
      [1n, undefined],
      [2n, undefined],
      [2n, 'audit'],
    ]);
    expect(JSON.parse(out[2].envelope).after).toEqual({ id: 2, seen: true });
  });

  it('gets numbers a double cannot hold as their text, and gives them back exactly', async () => {
    const m = message(1, 'c', { id: 1, n: 0 });
    m.envelope = m.envelope.replace('"n":0', '"n":12345678901234567890');
    const out = await pipeline({
      transform: 'export default (m) => { m.value.after.t = typeof m.value.after.n; return m; }',
    }).apply([m]);
    expect(out[0].envelope).toContain('"n":"12345678901234567890","t":"string"');
  });

  it('a wrong result, a thrown error and a compile error are clear', async () => {
    await expect(pipeline({ transform: 'export default () => 42;' }).apply([message(1, 'c', { id: 1 })])).rejects.toThrow(
      /must be a message/,
    );
    await expect(
      pipeline({ transform: 'export default () => { throw new RangeError("no such tenant"); };' }).apply([
        message(1, 'c', { id: 1 }),
      ]),
    ).rejects.toThrow('transform failed: RangeError: no such tenant');
    const parsed = groupSchema.safeParse({ name: 'g', topics: ['t'], transform: 'export default (m) => { return m' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['transform'],
      message: expect.stringMatching(/^does not compile: line 1, column \d+: '}' expected/),
    });
  });
});

describe('the sandbox refuses escapes', () => {
  const run = (body: string) =>
    pipeline({ transform: `export default function (m) { ${body} }` }).apply([message(1, 'c', { id: 1 })]);
  const probe = async (expression: string) => {
    const [out] = await pipeline({
      transform: `export default function (m) { let r; try { r = String(${expression}); } catch (e) { r = 'threw ' + e.name; } m.value.after.r = r; return m; }`,
    }).apply([message(1, 'c', { id: 1 })]);
    return (JSON.parse(out.envelope) as { after: { r: string } }).after.r;
  };

  it('has no process, require, module loading, timers, network or files', async () => {
    expect(await probe('typeof process')).toBe('undefined');
    expect(await probe('typeof require')).toBe('undefined');
    expect(await probe('typeof fetch')).toBe('undefined');
    expect(await probe('typeof setTimeout')).toBe('undefined');
    expect(await probe('typeof globalThis.std + typeof globalThis.os')).toBe('undefinedundefined');
    expect(await probe('typeof globalThis.Buffer + typeof globalThis.global')).toBe('undefinedundefined');
    expect(await probe('(0, eval)("typeof process")')).toBe('undefined');
    expect(await probe('(() => {}).constructor("return typeof this.process")()')).toBe('undefined');
    expect(await probe('Function("return process")()')).toBe('threw ReferenceError');
    expect(await probe('Object.getOwnPropertyNames(globalThis).filter((n) => !/^[A-Z]/.test(n)).sort().join()')).not.toMatch(
      /process|require|module|import|fetch|fs/,
    );
    await expect(
      pipeline({ transform: 'import fs from "fs"; export default (m) => { fs.readFileSync("/etc/passwd"); return m; };' }).apply([
        message(1, 'c', { id: 1 }),
      ]),
    ).rejects.toThrow(/loading transform failed: ReferenceError: 'require' is not defined/);
    const [dynamic] = await pipeline({
      transform: 'export default (m) => { m.value.after.p = typeof import("fs"); return m; };',
    }).apply([message(1, 'c', { id: 1 })]);
    expect(JSON.parse(dynamic.envelope).after.p).toBe('object'); // a promise that only rejects: nothing is loaded, nothing awaited
  });

  it('polluting prototypes stays inside the sandbox: the host and its parsed results are untouched', async () => {
    const [out] = await pipeline({
      transform: `export default function (m) {
        Object.prototype.polluted = 'yes'; Array.prototype.push = null;
        return { value: JSON.parse('{"__proto__": {"polluted": "yes"}, "op": "c", "after": {"id": 1}}') };
      }`,
    }).apply([message(1, 'c', { id: 1 })]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(JSON.parse(out.envelope))).toBe(Object.prototype);
    const arr: number[] = [];
    arr.push(1);
    expect(arr).toEqual([1]);
  });

  it('an infinite loop is interrupted at the CPU limit, and the member goes on with a fresh context', async () => {
    const p = pipeline({
      transform:
        'let calls = 0; export default function (m) { calls++; if (m.value.after.id === 1) { for (;;) {} } m.value.after.calls = calls; return m; }',
      transformLimits: { timeoutMs: 50 },
    });
    await expect(p.apply([message(1, 'c', { id: 1 })])).rejects.toThrow(/transform ran over its 50 ms/);
    const [out] = await p.apply([message(2, 'c', { id: 2 })]);
    expect(JSON.parse(out.envelope).after.calls).toBe(1); // the context was made again: its state is gone
  });

  it('a huge allocation fails at the memory limit, and the next call works', async () => {
    const p = pipeline({
      transform:
        'export default function (m) { if (m.value.after.id === 1) { const a = []; for (;;) a.push("x".repeat(1e5) + a.length); } return m; }',
      transformLimits: { memoryMb: 16, timeoutMs: 5_000 },
    });
    await expect(p.apply([message(1, 'c', { id: 1 })])).rejects.toThrow(TransformError);
    expect(await p.apply([message(2, 'c', { id: 2 })])).toHaveLength(1);
  });

  it('deep recursion fails at the stack limit', async () => {
    await expect(run('const f = (n) => f(n + 1) + 1; return f(0);')).rejects.toThrow(/stack|recursion/i);
  });
});
