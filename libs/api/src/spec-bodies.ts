import { UnprocessableEntityException } from '@nestjs/common';
import { restoreWriteOnlySecrets, WriteOnlySecretError } from '@tributary/config';

/** restoreWriteOnlySecrets, with a masked value that cannot be restored answered as 422 naming the field. */
export function restoreSecrets(...args: Parameters<typeof restoreWriteOnlySecrets>): unknown {
  try {
    return restoreWriteOnlySecrets(...args);
  } catch (error) {
    if (!(error instanceof WriteOnlySecretError)) throw error;
    throw new UnprocessableEntityException({ detail: error.message, field: error.field });
  }
}

/**
 * What GET adds to a source or group beyond its spec. Left out of PUT and PATCH bodies, so that what GET
 * answered can be edited and sent back as it is.
 */
const READ_ONLY = [
  'version',
  'managedBy',
  'createdAt',
  'updatedAt',
  'paused',
  'lag',
  'members',
  'partitions',
  'checkpointLsn',
  'lastCommitTime',
  'capture',
  'database',
  'connected',
  'error',
  'slotActive',
  'confirmedLsn',
  'lagBytes',
];

function withoutReadOnly(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([key]) => !READ_ONLY.includes(key)));
}

/** A PUT body as a spec: named by the path unless it says otherwise (renames are refused later). */
export function replacementOf(name: string, body: unknown): unknown {
  return isObject(body) ? { name, ...withoutReadOnly(body) } : body;
}

/** A PATCH body as a spec: the given top-level fields over the stored spec. */
export function patchOf(stored: object, body: unknown): unknown {
  return isObject(body) ? { ...stored, ...withoutReadOnly(body) } : body;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
