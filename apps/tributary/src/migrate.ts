import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';

// `npm run migrate`: applies pending migrations to the platform database and exits.
async function main(): Promise<void> {
  const db = await PlatformDatabase.open(loadConfig(), { migrate: true });
  await db.close();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
