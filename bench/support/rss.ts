import { readFileSync } from 'node:fs';

export interface RssReading {
  /** Resident set size now, in kB. */
  rssKb: number;
  /** Peak resident set size of the process so far (VmHWM), in kB. */
  hwmKb: number;
}

/** Reads VmRSS and VmHWM of a process from /proc; undefined once it has exited. */
export function readRss(pid: number): RssReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Samples a process's memory every `intervalMs`: the series (for a chart) and the peak. */
export class RssSampler {
  readonly samplesKb: number[] = [];
  peakKb = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Takes a last reading (VmHWM covers any spike between samples) and stops. */
  stop(): { peakMb: number; samplesMb: number[] } {
    this.sample();
    clearInterval(this.timer);
    return { peakMb: this.peakKb / 1024, samplesMb: this.samplesKb.map((k) => k / 1024) };
  }

  private sample(): void {
    const r = readRss(this.pid);
    if (!r) return;
    this.samplesKb.push(r.rssKb);
    this.peakKb = Math.max(this.peakKb, r.hwmKb, r.rssKb);
  }
}
