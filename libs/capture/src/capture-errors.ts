/** A problem with a source that a person must fix; its message says what and how. */
export class SourceConfigurationError extends Error {
  /** The source's key at fault when one is (`tables[2].where`): an API answer names it as its `field`. */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SourceConfigurationError';
  }
}

/**
 * The source's slot can no longer give the changes capture still needs: invalidated by the server
 * (`wal_status = lost`), or gone while a checkpoint says capture had read from it. Capture does not
 * recreate it by itself, which would skip those changes silently: a resync does (POST .../resync).
 */
export class SlotLostError extends SourceConfigurationError {
  constructor(message: string) {
    super(message);
    this.name = 'SlotLostError';
  }
}
