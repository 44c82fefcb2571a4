import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** Builds the console with Vite into dist/console, as `npm run build` does (about 2 s), printing its size line. */
export function buildConsole(): void {
  const out = execFileSync('npx', ['vite', 'build', '--config', 'apps/console/vite.config.ts', '--logLevel', 'warn'], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' }, // jest's NODE_ENV=test would bundle React's development build
  });
  const size = out.split('\n').find((l) => l.startsWith('console: initial bundle'));
  if (size) console.log(size);
}
