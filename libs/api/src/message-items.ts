import type { StoredMessage } from '@tributary/topic-log';

/**
 * A message as the messages page and the tail send it: its metadata, then the envelope as stored, not
 * re-serialised, so int8, numeric and json values keep every digit.
 */
export function messageItemJson({ envelope, ...meta }: StoredMessage): string {
  return `${JSON.stringify(meta).slice(0, -1)},"envelope":${envelope}}`;
}
