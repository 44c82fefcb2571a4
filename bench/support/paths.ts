import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onCleanup } from './cleanup';

/** The repository root (the folder holding package.json), found from wherever the compiled bench runs. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

let snapshot: string | undefined;

/**
 * A private copy of dist/ taken once per bench run, so that apps started minutes later are not hit by
 * someone else's `npm run build` rewriting dist/ (tsc emits un-aliased files that tsc-alias only fixes
 * afterwards). It lives under node_modules/.cache so that packages still resolve from the repository.
 */
function distSnapshot(): string {
  if (snapshot) return snapshot;
  const source = join(repoRoot(), 'dist');
  const target = join(repoRoot(), 'node_modules', '.cache', `tributary-bench-${process.pid}`, 'dist');
  onCleanup(`dist snapshot ${target}`, () => rmSync(dirname(target), { recursive: true, force: true }));
  for (let attempt = 1; ; attempt++) {
    rmSync(target, { recursive: true, force: true });
    cpSync(source, target, { recursive: true, filter: (path) => !path.endsWith('.map') });
    if (!hasUnresolvedAliases(target)) break;
    if (attempt === 20) throw new Error(`${source} stays half-built (another build running?): run "npm run build" and retry`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000); // a build is in progress: let it finish
  }
  snapshot = target;
  return target;
}

function hasUnresolvedAliases(dir: string): boolean {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (
      entry.isDirectory()
        ? hasUnresolvedAliases(path)
        : path.endsWith('.js') && /require\("@tributary\//.test(readFileSync(path, 'utf8'))
    )
      return true;
  }
  return false;
}

/** Path of a built app entry point, in this run's snapshot of dist/ (the bench scripts build first). */
export function builtApp(app: 'tributary' | 'capture' | 'worker' | 'api'): string {
  const path = join(distSnapshot(), 'apps', app, 'src', 'main.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: run "npm run build" first`);
  return path;
}
