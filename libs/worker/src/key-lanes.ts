import type { ConsumedMessage } from '@tributary/sink-contract';

/**
 * Delivers one partition's messages one per call with up to `lanes` calls in flight, each key's messages
 * one after the other in offset order (messages without a key share one lane): per-key order holds, and
 * a partition whose messages go to a slow endpoint one request each is no longer one round trip per
 * message. `attempt` delivers one message and says whether it is done (acknowledged).
 *
 * Lanes open one at a time as attempts succeed (up to `lanes`): an endpoint that fails from the start
 * sees one request at a time, as without lanes, and one that heals is not flooded before it answers.
 *
 * Once an attempt is not done, no further message starts; the calls in flight finish, and the messages
 * not done are returned in offset order (empty when all are): of each key, its done messages are the
 * first ones, so the rest can be delivered in offset order without reordering any key. An error thrown
 * by `attempt` is rethrown after the calls in flight finished.
 */
export async function deliverInKeyLanes(
  messages: ConsumedMessage[],
  lanes: number,
  attempt: (message: ConsumedMessage) => Promise<boolean>,
): Promise<ConsumedMessage[]> {
  const done = new Set<ConsumedMessage>();
  const lastOfKey = new Map<string | null, Promise<boolean>>();
  const running = new Set<Promise<void>>();
  let stopped = false;
  let failure: Error | undefined; // what a delivery threw (sinks throw Errors), rethrown as it is
  let open = 1;
  for (const m of messages) {
    while (running.size >= open && !stopped) await Promise.race(running);
    if (stopped) break;
    const before = lastOfKey.get(m.key);
    const call = (async () => {
      if (before && !(await before)) return false; // the key's earlier message is not done: this one waits too
      if (stopped) return false;
      const ok = await attempt(m);
      if (ok) {
        done.add(m);
        open = Math.min(lanes, open + 1);
      } else stopped = true;
      return ok;
    })().catch((error: unknown) => {
      failure ??= error as Error;
      stopped = true;
      return false;
    });
    lastOfKey.set(m.key, call);
    const tracked: Promise<void> = call.then(() => void running.delete(tracked));
    running.add(tracked);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  return messages.filter((m) => !done.has(m));
}
