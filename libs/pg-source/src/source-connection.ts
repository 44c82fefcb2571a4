import { Client } from 'pg';
import { redactUrl, type SourceConfig } from '@tributary/config';

/** A plain (non-replication) connection to a source, with an error that names the source but not its password. */
export async function connectSource(source: SourceConfig, applicationName: string): Promise<Client> {
  const client = new Client({ connectionString: source.url, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // reported through the failing query instead
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new Error(`cannot reach source "${source.name}" at ${redactUrl(source.url)}: ${(error as Error).message}`);
  }
  return client;
}

/** A SQL identifier, quoted: names from configuration are never spliced in raw. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal, for a session with standard_conforming_strings on (where COPY takes no parameters). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
