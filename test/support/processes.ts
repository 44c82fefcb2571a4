import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { sleep } from '@tributary/timing';

const ROOT = join(__dirname, '..', '..');

/** Path of a built entry point; the test command builds before jest runs. */
export function builtApp(app: 'tributary' | 'api' | 'capture' | 'worker' | 'cli', file = 'main'): string {
  const path = join(ROOT, 'dist', 'apps', app, 'src', `${file}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run "npm run build" first (npm test does)`);
  return path;
}

/** A Node child process whose output is kept, to show when a test fails. */
export class AppProcess {
  output = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  /** `ownGroup`: in a process group of its own, which `interrupt` signals as a terminal's Ctrl-C does. */
  constructor(script: string, env: NodeJS.ProcessEnv, args: string[] = [], options: { ownGroup?: boolean } = {}) {
    this.child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownGroup ?? false,
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** SIGINT to the whole process group (started with `ownGroup`), children included: Ctrl-C in a terminal. */
  interrupt(): void {
    process.kill(-(this.child.pid as number), 'SIGINT');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * A private copy of the built `dist`: others may run `npm run build` while a test runs, and a process
 * started in that window (tsc done, path aliases not yet rewritten) could not even load. A copy taken
 * when the build is complete and quiet keeps every restart on the same code. Returns the copied
 * capture entry point.
 */
export async function copyBuiltCaptureApp(into: string): Promise<string> {
  const entry = builtApp('capture');
  const dist = join(dirname(entry), '..', '..', '..');
  const files = (root: string): string[] =>
    readdirSync(root, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(root, e.name)) : e.name.endsWith('.js') ? [join(root, e.name)] : [],
    );
  for (let attempt = 0; attempt < 120; attempt++) {
    const newest = () => Math.max(...files(dist).map((f) => statSync(f).mtimeMs));
    const before = newest();
    rmSync(join(into, 'dist'), { recursive: true, force: true });
    mkdirSync(into, { recursive: true });
    cpSync(dist, join(into, 'dist'), { recursive: true });
    const complete = files(join(into, 'dist')).every((f) => !/require\("@tributary\//.test(readFileSync(f, 'utf8')));
    if (complete && newest() === before && Date.now() - before > 2_000) {
      symlinkSync(join(dist, '..', 'node_modules'), join(into, 'node_modules'), 'dir');
      return join(into, 'dist', relative(dist, entry));
    }
    await sleep(1_000);
  }
  throw new Error(`${dist} kept changing for two minutes; cannot take a consistent copy of the capture app`);
}
