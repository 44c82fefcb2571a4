import { Client } from 'pg';
import { loadConfig } from '@tributary/config';

// `npm run sql -- "<statement>"`: runs SQL on the first configured source (the embedded database by
// default) and prints the rows, so the README walk-through needs no psql.
async function main(): Promise<void> {
  const sql = process.argv.slice(2).join(' ');
  if (!sql) throw new Error('usage: npm run sql -- "SELECT 1"');
  const source = loadConfig().sources[0];
  if (!source) throw new Error('no source is configured');
  const client = new Client({ connectionString: source.url });
  await client.connect();
  try {
    const results = [await client.query(sql)].flat();
    for (const r of results) {
      if (r.rows.length) console.table(r.rows);
      else console.log(`${r.command} ${r.rowCount ?? ''}`.trim());
    }
  } finally {
    await client.end();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
