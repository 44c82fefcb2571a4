import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { onCleanup } from './cleanup';
import { builtApp } from './paths';

/**
 * A Tributary app (`dist/apps/<role>/src/main.js`) as a child process, its output kept (and shown if
 * the bench fails), killed at cleanup if still running.
 */
export class AppProcess {
  output = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly startedAt = Date.now();
  private readonly watchers: { pattern: RegExp; resolve: (at: number) => void }[] = [];
  private readonly unregister: () => void;

  constructor(role: 'capture' | 'worker' | 'tributary', env: Record<string, string>) {
    // BENCH_APP_NODE_ARGS passes flags to the app's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") for diagnosis.
    const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, builtApp(role)], {
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'log', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      const now = Date.now();
      this.output = (this.output + chunk.toString()).slice(-100_000);
      for (const w of [...this.watchers]) {
        if (w.pattern.test(this.output)) {
          this.watchers.splice(this.watchers.indexOf(w), 1);
          w.resolve(now);
        }
      }
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.unregister = onCleanup(`${role} process ${this.child.pid}`, () => this.kill('SIGKILL').then(() => undefined));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves with the time (ms) at which the output first matched; rejects if the process exits first. */
  waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<number> {
    if (pattern.test(this.output)) return Promise.resolve(Date.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} in the app's output after ${timeoutMs} ms:\n${this.output.slice(-3000)}`)),
        timeoutMs,
      );
      this.watchers.push({
        pattern,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the app exited (code ${code}) before printing ${pattern}:\n${this.output.slice(-3000)}`));
      });
    });
  }

  /** Graceful stop (SIGTERM, the app's shutdown hooks run), then SIGKILL if it takes too long. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    this.unregister();
    return code;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
