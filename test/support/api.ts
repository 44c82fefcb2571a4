import type { INestApplication } from '@nestjs/common';
import { request } from 'node:http';
import type { TributaryConfig } from '@tributary/config';
import { createApp } from '@tributary/runtime';
import { platformConfig } from './capture-harness';
import type { TestPlatform } from './platform';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of many shapes, checked by each test
export type ApiAnswer = { status: number; body: any; headers: Headers; text: string };

/**
 * One HTTP call to a server of the platform, the way every test makes it: a string body is sent as it is
 * (malformed JSON), anything else as JSON; the answer's body is parsed JSON, or its text when not JSON.
 */
export async function callApi(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers, // a test's own Content-Type wins (415 cases)
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: parsed(text), headers: res.headers, text };
}

/** JSON, or the text itself (HTML docs, metrics text). */
function parsed(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

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

  /** callApi on this API. */
  call(method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    return callApi(this.base, method, path, body, { token, headers });
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
        resolve({ status: res.statusCode ?? 0, body: parsed(text), headers: answerHeaders, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
