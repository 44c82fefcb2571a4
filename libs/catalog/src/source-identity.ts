import type { SourceFileConfig } from '@tributary/config';

/**
 * The fields that say which slot a source reads. Capture resumes from the checkpoint stored under the
 * source's name; pointed at another database or slot, it would ask for a position that means nothing
 * there and skip whatever came before it. Changing them is a new source: delete (dropSlot) and create.
 */
const IDENTITY = ['url', 'slot', 'publication'] as const;

/** The first identity field that differs, or undefined. A new password is not a new database. */
export function sourceIdentityChange(before: SourceFileConfig, after: SourceFileConfig): string | undefined {
  const key = (spec: SourceFileConfig, field: (typeof IDENTITY)[number]) =>
    field === 'url' ? withoutCredentials(spec.url) : slotOf(spec)[field];
  return IDENTITY.find((field) => key(before, field) !== key(after, field));
}

function withoutCredentials(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const parsed = new URL(url);
    parsed.password = '';
    for (const name of [...parsed.searchParams.keys()]) if (/pass|key|secret|token/i.test(name)) parsed.searchParams.delete(name);
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Slot and publication names as capture derives them when the spec leaves them out. */
export function slotOf(spec: SourceFileConfig): { slot: string; publication: string } {
  return { slot: spec.slot ?? `tributary_${spec.name}`, publication: spec.publication ?? `tributary_${spec.name}` };
}

/**
 * Another source on the same database with the same slot or publication: each would drop or reshape
 * what the other reads (a slot has one reader; a publication has one table list).
 */
export function clashingSource(
  spec: SourceFileConfig,
  others: SourceFileConfig[],
  defaultUrl: string,
): { field: 'slot' | 'publication'; other: string } | undefined {
  const database = (s: SourceFileConfig) => {
    try {
      const u = new URL(s.url ?? defaultUrl);
      return `${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      return s.url ?? defaultUrl;
    }
  };
  const mine = slotOf(spec);
  for (const other of others) {
    if (other.name === spec.name || database(other) !== database(spec)) continue;
    const theirs = slotOf(other);
    if (theirs.slot === mine.slot) return { field: 'slot', other: other.name };
    if (theirs.publication === mine.publication) return { field: 'publication', other: other.name };
  }
  return undefined;
}
