import { JS_CODES, jetStreamCode, NatsSinkError } from './nats-errors';

/**
 * What went wrong, as the partition's status shows it: an unreachable broker (refused, timed out,
 * reconnecting), a set-up problem (no permission, no stream for the subject, a stream that does not
 * fit), or something about the message (too large). Error types and codes decide, never their text.
 */
export function describeFailure(error: unknown, doing: string): NatsSinkError {
  if (error instanceof NatsSinkError) return error;
  const e = error as Error & { code?: unknown; cause?: unknown };
  const name = e?.name ?? '';
  const text = e?.message ?? String(error);
  const cause = e?.cause as (Error & { code?: unknown }) | undefined;
  const code = jetStreamCode(error);
  if (name === 'PermissionViolationError' || cause?.name === 'PermissionViolationError') {
    return new NatsSinkError(`${doing}: permission denied (${text}); grant the sink's user that subject`, 'misconfigured');
  }
  if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
    return new NatsSinkError(`${doing}: authorization failed; check the user and password or token`, 'misconfigured');
  }
  if (isNoResponders(e)) {
    return new NatsSinkError(`${doing}: no JetStream stream takes the subject (or JetStream is not enabled)`, 'misconfigured');
  }
  if (code === JS_CODES.streamNotFound) return new NatsSinkError(`${doing}: the stream does not exist`, 'misconfigured');
  if (code !== undefined) {
    // Any other answer of the JetStream API: a message the stream refuses (too large) is the message's
    // problem; the rest are about the set-up.
    const kind = code === MAX_PAYLOAD_CODE ? 'message' : 'misconfigured';
    return new NatsSinkError(`${doing}: ${text} (JetStream error ${code})`, kind);
  }
  if (name === 'MaxPayloadExceeded' || name === 'InvalidArgumentError') {
    return new NatsSinkError(`${doing}: ${text}`, 'message');
  }
  return new NatsSinkError(`${doing}: NATS unreachable (${text})`, 'unreachable');
}

/** The stream's `max_msg_size` refusal. */
const MAX_PAYLOAD_CODE = 10054;

function isNoResponders(e: Error & { cause?: unknown }): boolean {
  if (e?.name === 'NoRespondersError') return true;
  const cause = e?.cause as Error | undefined;
  if (cause?.name === 'NoRespondersError') return true;
  const request = e as unknown as { isNoResponders?: () => boolean };
  return typeof request?.isNoResponders === 'function' ? request.isNoResponders() : false;
}
