#!/usr/bin/env node
import { CliError, runCli } from '@tributary/cli';
import type { Role } from '@tributary/runtime';

// `tributary start [roles]` runs the platform in this process; every other command talks to the API, so the
// platform (Nest, TypeORM, every migration) is loaded only for `start`.
const argv = process.argv.slice(2);
if (argv[0] === 'start') {
  void import('@tributary/runtime').then(({ ALL_ROLES, runMain }) => {
    const roles = argv.slice(1) as Role[];
    const unknown = roles.filter((r) => !ALL_ROLES.includes(r));
    if (unknown.length) {
      process.stderr.write(`unknown role(s): ${unknown.join(', ')}; roles are ${ALL_ROLES.join(', ')}\n`);
      process.exit(64);
    }
    runMain(roles.length ? roles : ALL_ROLES);
  });
} else {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  runCli(argv, (text) => process.stdout.write(`${text}\n`), undefined, stop.signal).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`${error instanceof CliError || error.name === 'TypeError' ? error.message : error.stack}\n`);
      process.exit(error instanceof CliError ? 1 : 70);
    },
  );
}
