/** A problem with a source that a person must fix; its message says what and how. */
export class SourceConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceConfigurationError';
  }
}
