/** The admin API as the CLI sees it: base URL and token from TRIBUTARY_API_URL / TRIBUTARY_TOKEN. */
export class ApiClient {
  constructor(
    readonly base: string,
    private readonly token?: string,
  ) {}

  static fromEnv(env: NodeJS.ProcessEnv = process.env): ApiClient {
    const base = env.TRIBUTARY_API_URL ?? `http://127.0.0.1:${env.TRIBUTARY_API_PORT ?? 3000}`;
    return new ApiClient(base.replace(/\/$/, ''), env.TRIBUTARY_TOKEN);
  }

  /** The answer's JSON as `T`: the shape the command expects of that route (it is the API's own). */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const { cause, message } = error as Error;
      throw new CliError(`cannot reach the Tributary API at ${this.base}: ${cause instanceof Error ? String(cause) : message}`);
    }
    const text = await res.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const problem = parsed as { detail?: string; title?: string } | undefined;
      throw new CliError(`${method} ${path}: ${res.status} ${problem?.detail ?? problem?.title ?? text}`);
    }
    return parsed as T;
  }
}

/** A failure to report in one line, without a stack. */
export class CliError extends Error {}
