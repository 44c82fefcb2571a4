import { compileFunctionSource, type GroupConfig } from '@tributary/config';
import type { ConsumedMessage } from '@tributary/sink-contract';
import { isLosslessNumber, isSafeNumber } from 'lossless-json';
import { compileBuiltin, type EnvelopeStep } from './builtin-transforms';
import { readEnvelope, writeEnvelope, type Envelope } from './envelope';
import { compileFilter, type EnvelopeTest } from './message-filter';
import { compileRouteTemplate, type RouteOf } from './route-template';
import { Sandbox, TransformError } from './sandbox';

const DEFAULT_LIMITS = { timeoutMs: 100, memoryMb: 64 };

/**
 * What a group does to each message between fetch and sink: `filter` (skipped messages are simply not
 * delivered: the runner acknowledges them with their batch), the built-in `transforms` in order, the
 * `transform` function in the sandbox, then `route`. One message becomes none, one or several, all
 * with its offset, in order, so they are delivered (and, into a database sink, committed) together
 * with it and before the messages after it. One pipeline per group member: its sandbox is reused.
 */
export class MessagePipeline {
  /** True when the group has none of filter, transforms, transform, route: batches pass as they are. */
  readonly empty: boolean;
  private readonly filter?: EnvelopeTest;
  private readonly steps: EnvelopeStep[];
  private readonly routeTemplate?: RouteOf;
  private readonly functions: { transform?: string; route?: string } = {};
  private sandbox?: Promise<Sandbox>;

  constructor(private readonly config: Pick<GroupConfig, 'filter' | 'transforms' | 'transform' | 'route' | 'transformLimits'>) {
    this.filter = config.filter ? compileFilter(config.filter) : undefined;
    this.steps = (config.transforms ?? []).map(compileBuiltin);
    if (config.transform !== undefined) this.functions.transform = compiled(config.transform, 'transform');
    if (typeof config.route === 'string') this.routeTemplate = compileRouteTemplate(config.route);
    else if (config.route) this.functions.route = compiled(config.route.function, 'route');
    this.empty = !config.filter && !this.steps.length && !config.transform && !config.route;
  }

  /** The batch's messages as the sink is to get them; throws (TransformError) when a function fails. */
  async apply(batch: ConsumedMessage[]): Promise<ConsumedMessage[]> {
    if (this.empty) return batch;
    const sandbox = this.functions.transform || this.functions.route ? await this.sandboxReady() : undefined;
    const out: ConsumedMessage[] = [];
    for (const message of batch) this.applyOne(message, sandbox, out);
    return out;
  }

  async close(): Promise<void> {
    const sandbox = this.sandbox;
    this.sandbox = undefined;
    if (sandbox) (await sandbox.catch(() => undefined))?.close();
  }

  private applyOne(message: ConsumedMessage, sandbox: Sandbox | undefined, out: ConsumedMessage[]): void {
    const read = readEnvelope(message.envelope);
    let envelope: Envelope | null = read.value;
    if (this.filter && !this.filter(envelope)) return;
    // Read before the steps change the envelope: a renamed or dropped column still routes.
    const templated = this.routeTemplate?.(message, envelope);
    const reshaped = this.steps.length > 0 || this.functions.transform !== undefined;
    for (const step of this.steps) if (envelope) envelope = step(envelope);
    if (!envelope) return;
    const results = this.functions.transform
      ? this.runTransform(sandbox as Sandbox, message, envelope)
      : [{ value: envelope, route: undefined as string | undefined, marked: read.marked }];
    for (const { value, route, marked } of results) {
      const routed = route ?? templated ?? this.routeOf(sandbox, message, value);
      if (!reshaped) {
        out.push(routed === undefined ? message : withRoute(message, routed));
        continue;
      }
      const { snapshotRow: _row, ...rest } = message; // the envelope changed: the stored row no longer stands for it
      out.push({ ...rest, envelope: writeEnvelope(value, marked), ...(routed === undefined ? {} : { route: routed }) });
    }
  }

  /** The function gets `{ topic, partition, offset, key, value }` and returns such a message, an array of them, or null. */
  private runTransform(
    sandbox: Sandbox,
    m: ConsumedMessage,
    value: Envelope,
  ): { value: Envelope; route?: string; marked: boolean }[] {
    const input = { topic: m.topic, partition: m.partition, offset: String(m.offset), key: m.key, value };
    const read = readEnvelope(sandbox.run('transform', forSandbox(input)));
    const result = read.value as unknown;
    if (result === null) return [];
    const list = Array.isArray(result) ? result : [result];
    return list.map((item, i) => {
      const where = Array.isArray(result) ? `result[${i}]` : 'result';
      const v = (item as { value?: unknown } | null)?.value;
      if (typeof item !== 'object' || item === null || typeof v !== 'object' || v === null)
        throw new TransformError(`transform: ${where} must be a message ({ value: {...}, route? }), an array of them, or null`);
      const route = (item as { route?: unknown }).route;
      if (route !== undefined && route !== null && typeof route !== 'string')
        throw new TransformError(`transform: ${where}.route must be a string`);
      return { value: v as Envelope, route: typeof route === 'string' ? route : undefined, marked: read.marked };
    });
  }

  private routeOf(sandbox: Sandbox | undefined, m: ConsumedMessage, value: Envelope): string | undefined {
    if (!this.functions.route) return undefined;
    const input = { topic: m.topic, partition: m.partition, offset: String(m.offset), key: m.key, value };
    const route = JSON.parse((sandbox as Sandbox).run('route', forSandbox(input))) as unknown;
    if (route === null) return undefined;
    if (typeof route !== 'string' || route === '') throw new TransformError('route: must return a non-empty string or null');
    return route;
  }

  private async sandboxReady(): Promise<Sandbox> {
    const pending = this.sandbox;
    const current = await pending?.catch(() => undefined);
    // A time-out or the memory limit broke it (and no other call has replaced it meanwhile): a new one.
    if (current && !current.usable && this.sandbox === pending) this.sandbox = undefined;
    this.sandbox ??= Sandbox.create(this.functions, this.config.transformLimits ?? DEFAULT_LIMITS);
    const ready = this.sandbox;
    // A sandbox that could not start is tried again on the next call (its failure goes through the retries).
    ready.catch(() => {
      if (this.sandbox === ready) this.sandbox = undefined;
    });
    return ready;
  }
}

function compiled(source: string, what: string): string {
  const result = compileFunctionSource(source);
  if ('error' in result) throw new TransformError(`${what} does not compile: ${result.error}`);
  return result.code;
}

function withRoute(message: ConsumedMessage, route: string): ConsumedMessage {
  // A copy keeps the snapshot row (and the envelope getter of one): spreading would render it.
  return Object.assign(Object.create(Object.getPrototypeOf(message) as object) as ConsumedMessage, message, { route });
}

/**
 * JSON for the sandbox, where numbers are doubles: a number a double cannot hold exactly (an int8 past
 * 2^53, a numeric's digits) is given as its text, so no digit is lost on the way in or out.
 */
function forSandbox(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    let text: string;
    if (typeof v === 'string' && v.charCodeAt(0) === 0xe000)
      text = v.slice(1); // a marked exact number
    else if (isLosslessNumber(v)) text = (v as { value: string }).value;
    else return v;
    return isSafeNumber(text) ? Number(text) : text;
  });
}
