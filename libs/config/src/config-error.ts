/** A bad environment variable, tributary.yaml or document: the message names the key and why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
