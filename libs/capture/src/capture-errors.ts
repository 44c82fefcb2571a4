/** A problem with a source that a person must fix; its message says what and how. */
export class SourceConfigurationError extends Error {
  /** The source's setting to change, when one is to blame (the API answers with it as `field`). */
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
