import { RetentionPolicy, StorageType, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from './nats-client';
import type { NatsSinkConfig } from '@tributary/config';
import { JS_CODES, jetStreamCode, NatsSinkError } from './nats-errors';

const RETENTION: Record<NatsSinkConfig['retention'], RetentionPolicy> = {
  limits: RetentionPolicy.Limits,
  interest: RetentionPolicy.Interest,
  workqueue: RetentionPolicy.Workqueue,
};

/**
 * Creates the stream, or checks the one there: it must take the sink's subjects, and when the sink
 * manages it (`createStream`) have its retention; replicas, max age and the duplicate window are brought
 * to the configured ones. A stream of another shape is an error that says what differs, never changed
 * behind its operator's back.
 */
export async function ensureStream(jsm: JetStreamManager, config: NatsSinkConfig, subjects: string[]): Promise<void> {
  const existing = await streamInfo(jsm, config.stream);
  if (!existing) {
    if (!config.createStream) {
      throw new NatsSinkError(
        `stream "${config.stream}" does not exist; create it with subjects ${subjects.join(', ')} (createStream is false)`,
        'misconfigured',
      );
    }
    try {
      await jsm.streams.add({
        name: config.stream,
        subjects,
        num_replicas: config.replicas,
        retention: RETENTION[config.retention],
        storage: StorageType.File,
        max_age: nanos(config.maxAgeMs),
        duplicate_window: nanos(config.duplicateWindowMs),
      });
      return;
    } catch (error) {
      if (jetStreamCode(error) === JS_CODES.subjectsOverlap) {
        throw new NatsSinkError(
          `stream "${config.stream}" cannot be created: another stream already takes subjects overlapping ${subjects.join(', ')}`,
          'misconfigured',
        );
      }
      if (jetStreamCode(error) !== JS_CODES.streamNameInUse) throw error;
      // Another member created it at the same time: check that one.
    }
  }
  await checkStream(jsm, config, subjects, existing ?? (await jsm.streams.info(config.stream)));
}

async function checkStream(jsm: JetStreamManager, config: NatsSinkConfig, subjects: string[], info: StreamInfo): Promise<void> {
  const taken = info.config.subjects ?? [];
  const missing = subjects.filter((s) => !taken.some((filter) => covers(filter, s)));
  if (missing.length) {
    throw new NatsSinkError(
      `stream "${config.stream}" exists with subjects [${taken.join(', ')}], which do not take ${missing.join(', ')}; ` +
        'add them to the stream or configure another stream',
      'misconfigured',
    );
  }
  if (!config.createStream) return;
  if (info.config.retention !== RETENTION[config.retention]) {
    throw new NatsSinkError(
      `stream "${config.stream}" exists with retention ${info.config.retention}, configured ${config.retention}; ` +
        'a stream keeps its retention: configure the one it has, or another stream',
      'misconfigured',
    );
  }
  const wanted = {
    num_replicas: config.replicas,
    max_age: nanos(config.maxAgeMs),
    duplicate_window: nanos(config.duplicateWindowMs),
  };
  const differs = (Object.keys(wanted) as (keyof typeof wanted)[]).some((k) => info.config[k] !== wanted[k]);
  if (differs) await jsm.streams.update(config.stream, wanted);
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (jetStreamCode(error) === JS_CODES.streamNotFound) return undefined;
    throw error;
  }
}

/** Whether the stream subject filter `filter` takes every subject `wanted` (itself a filter) matches. */
export function covers(filter: string, wanted: string): boolean {
  const f = filter.split('.');
  const w = wanted.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i < w.length;
    if (i >= w.length || w[i] === '>') return false;
    if (f[i] !== '*' && f[i] !== w[i]) return false;
  }
  return f.length === w.length;
}
