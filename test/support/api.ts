import type { INestApplication } from '@nestjs/common';
import type { TributaryConfig } from '@tributary/config';
import { createApp } from '@tributary/runtime';
import { platformConfig } from './capture-harness';
import type { TestPlatform } from './platform';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes, checked by each test
export type ApiAnswer = { status: number; body: any; headers: Headers };

/** The API role on a test platform, listening on a free loopback port. */
export class TestApi {
  private constructor(
    readonly app: INestApplication,
    readonly base: string,
  ) {}

  static async start(platform: TestPlatform, change: (c: TributaryConfig) => TributaryConfig = (c) => c): Promise<TestApi> {
    const config = change({ ...platformConfig(platform.url, []), logLevel: 'error' });
    const app = (await createApp(config, ['api'])) as INestApplication;
    await app.listen(0, '127.0.0.1');
    return new TestApi(app, (await app.getUrl()).replace('[::1]', '127.0.0.1'));
  }

  /** A string body is sent as it is (malformed JSON); anything else as JSON. */
  async call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    extra: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...extra,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (HTML docs, metrics text): the caller gets the text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
