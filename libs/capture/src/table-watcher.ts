import type { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SourceConfig } from '@tributary/config';
import { connectSource, missingTables } from '@tributary/pg-source';

/** How often a streaming capture checks that its tables still exist (one cheap catalog query). */
export const TABLE_CHECK_MS = 2_000;

/**
 * Watches a source's configured tables while its capture streams. A table dropped or renamed, or a
 * missing one that is back, changes the set of missing tables: `changed` is called once with the new
 * set, and the capture prepares again, so that the publication is exactly the tables that exist and a
 * table that is back gets its snapshot. (A dropped table leaves the publication by itself; a renamed
 * one stays in it, under its new name, until then, and its changes are left out meanwhile.)
 */
export class TableWatcher {
  private readonly abort = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly source: SourceConfig,
    private readonly known: readonly string[],
    private readonly changed: (missing: string[]) => void,
    private readonly failed: (error: Error) => void,
    private readonly intervalMs = TABLE_CHECK_MS,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let client: Client | undefined;
    try {
      client = await connectSource(this.source, `tributary-tables:${this.source.name}`);
      for (;;) {
        await sleep(this.intervalMs, undefined, { signal: this.abort.signal });
        const missing = await missingTables(client, this.source.tables);
        if (missing.join('\n') !== this.known.join('\n')) return this.changed(missing);
      }
    } catch (error) {
      if (!this.abort.signal.aborted) this.failed(error as Error);
    } finally {
      await client?.end().catch(() => undefined);
    }
  }
}
