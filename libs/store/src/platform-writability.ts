/**
 * SQLSTATEs with which the platform database refuses writes for a reason outside Tributary: they
 * last until an operator (or the database's host) acts, so the writers pause and say why instead of
 * failing in a loop. Matched by code, never by message text.
 */
const REASONS: Record<string, string> = {
  // read_only_sql_transaction: default_transaction_read_only (set by a person, or by a managed service
  // whose storage is almost full), or a hot standby after a failover.
  '25006': 'platform database is read-only (default_transaction_read_only, or a standby)',
  '53100': 'platform database has no space left (disk_full)',
  '53400': 'platform database refuses writes (configuration_limit_exceeded)',
};

/** The reason `error` says the platform database refuses writes, or undefined for any other error. */
export function unwritableReason(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !(code in REASONS)) return undefined;
  return `${REASONS[code]}: ${(error as Error).message}`;
}

/**
 * What this process's writers last found about writing to the platform database: each writer (a
 * source's capture, a group member) reports the error that stopped it and clears its entry once a write
 * of its own succeeded again. `/ready` and the metrics read it.
 */
export class PlatformWritability {
  private readonly refused = new Map<string, string>();

  /** Records `error` against `writer` if it is a refusal to write; returns the reason, or undefined. */
  report(writer: string, error: unknown): string | undefined {
    const reason = unwritableReason(error);
    if (reason) this.refused.set(writer, reason);
    return reason;
  }

  clear(writer: string): void {
    this.refused.delete(writer);
  }

  /** The reason the platform database refused a write of this process's, or null when none is refused now. */
  get reason(): string | null {
    return this.refused.values().next().value ?? null;
  }
}
