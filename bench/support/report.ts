import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from './paths';

export const BENCHMARKS_FILE = join(repoRoot(), 'docs', 'benchmarks.md');

const HEADER = `# Benchmarks

Each section below is written by one benchmark script and replaced whole when that script runs again
(between its \`<!-- bench:<name>:start -->\` and \`<!-- bench:<name>:end -->\` markers); edit outside the
markers only. Every section names the machine, the load on it, and how to reproduce the numbers.
`;

/** `uptime` as the shell prints it (falls back to the load averages). */
export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`;
  }
}

export interface MachineFacts {
  cores: number;
  cpu: string;
  memoryGb: number;
  node: string;
  date: string;
  loadBefore: string;
}

export function machineFacts(): MachineFacts {
  const list = cpus();
  return {
    cores: list.length,
    cpu: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    date: new Date().toISOString(),
    loadBefore: uptime(),
  };
}

/** Markdown lines describing where and how the numbers were measured. */
export function factsMarkdown(facts: MachineFacts, extra: Record<string, string>, reproduce: string): string {
  const rows: [string, string][] = [
    ['Date', facts.date],
    ['Machine', `${facts.cores} cores (${facts.cpu}), ${facts.memoryGb} GB RAM`],
    ['Node', facts.node],
    ...Object.entries(extra),
    ['Load before', `\`${facts.loadBefore}\``],
    ['Load after', `\`${uptime()}\``],
    ['Reproduce', `\`${reproduce}\``],
  ];
  return rows.map(([k, v]) => `- **${k}:** ${v}`).join('\n');
}

/**
 * Replaces this bench's section of docs/benchmarks.md (between its markers), leaving everything else
 * (other benches' sections, hand-written notes) as it is; appends the section the first time.
 */
export function writeSection(name: string, markdown: string): void {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  mkdirSync(dirname(BENCHMARKS_FILE), { recursive: true });
  const current = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : HEADER;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  let next: string;
  if (from >= 0 && to > from) next = current.slice(0, from) + block + current.slice(to + end.length);
  else next = `${current.trimEnd()}\n\n${block}\n`;
  const tmp = `${BENCHMARKS_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, BENCHMARKS_FILE); // atomic: a concurrent reader never sees half a file
  console.log(`\nwrote the "${name}" section of ${BENCHMARKS_FILE}`);
}

/** A fenced block for charts drawn with Unicode characters. */
export function chartBlock(text: string): string {
  return `\`\`\`text\n${text}\n\`\`\``;
}

/**
 * writeSection for the standard run only: when any of `knobs` (environment variables that change sizes or
 * settings) is set, the section is not written unless BENCH_WRITE=1, so experiments do not replace the
 * recorded numbers.
 */
export function recordSection(name: string, markdown: string, knobs: string[]): void {
  const set = knobs.filter((k) => process.env[k] !== undefined && process.env[k] !== '');
  if (set.length && process.env.BENCH_WRITE !== '1') {
    console.log(`\nnot writing docs/benchmarks.md: ${set.join(', ')} set (BENCH_WRITE=1 writes anyway)`);
    return;
  }
  writeSection(name, markdown);
}

/** The environment variables that change capture's settings in the benches (see source-config.ts). */
export const CAPTURE_KNOBS = ['BENCH_CAPTURE_MAX_BATCH_DELAY_MS', 'BENCH_CAPTURE_BATCH_SIZE', 'BENCH_APP_NODE_ARGS'];
