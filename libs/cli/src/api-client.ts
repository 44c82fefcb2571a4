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

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON, printed or picked apart by commands
  async call(method: string, path: string, body?: unknown): Promise<any> {
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
      throw new CliError(`cannot reach the Tributary API at ${this.base}: ${(error as Error).cause ?? (error as Error).message}`);
    }
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new CliError(`${method} ${path}: ${res.status} ${parsed?.detail ?? parsed?.title ?? text}`);
    return parsed;
  }
}

/** A failure to report in one line, without a stack. */
export class CliError extends Error {}
