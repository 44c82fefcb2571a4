import { sourceSchema } from '@tributary/config';

/** Capture's defaults for a source declared with only a name and tables (as a user gets them). */
export function captureDefaults(): { batchSize: number; maxBatchDelayMs: number } {
  const parsed = sourceSchema.parse({ name: 'x', tables: ['public.x'] });
  return { batchSize: parsed.batchSize, maxBatchDelayMs: parsed.maxBatchDelayMs };
}

/**
 * A `sources:` entry for tributary.yaml. The benches measure change capture only, so an initial
 * snapshot of existing rows is turned off where this build has that setting.
 */
export function sourceYaml(
  name: string,
  url: string,
  tables: string[],
  extra: Record<string, string | number | undefined> = {},
): string {
  const lines = [`  - name: ${name}`, `    url: ${url}`, `    tables: [${tables.join(', ')}]`];
  if ('snapshot' in sourceSchema.shape) lines.push('    snapshot: never');
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) lines.push(`    ${key}: ${value}`);
  return lines.join('\n');
}

/**
 * BENCH_CAPTURE_MAX_BATCH_DELAY_MS and BENCH_CAPTURE_BATCH_SIZE, to compare capture settings; empty when
 * unset (the defaults apply).
 */
export function captureOverrides(): { maxBatchDelayMs?: number; batchSize?: number } {
  const delay = process.env.BENCH_CAPTURE_MAX_BATCH_DELAY_MS;
  const size = process.env.BENCH_CAPTURE_BATCH_SIZE;
  return { ...(delay ? { maxBatchDelayMs: Number(delay) } : {}), ...(size ? { batchSize: Number(size) } : {}) };
}
