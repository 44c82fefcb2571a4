import { UnprocessableEntityException } from '@nestjs/common';
import { restoreWriteOnlySecrets, WriteOnlySecretError } from '@tributary/catalog';

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

export function withoutReadOnly(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([key]) => !READ_ONLY.includes(key)));
}
