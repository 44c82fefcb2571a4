import type { INestApplication } from '@nestjs/common';
import { request } from 'node:http';
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

  /**
   * A request with exactly these headers and body, as a browser (or an attacker's page) would send them:
   * fetch cannot set `Host` nor leave out its own headers.
   */
  raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<ApiAnswer> {
    return rawRequest(`${this.base}${path}`, method, headers, body);
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/** An HTTP request with exactly these headers and body (see TestApi.raw), to any server of the platform. */
export function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const answerHeaders = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') answerHeaders.set(k, v);
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: the caller gets the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, headers: answerHeaders });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
