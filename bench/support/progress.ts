/**
 * A one-line progress indicator on stderr: rewritten in place on a terminal, printed at most every
 * few seconds otherwise (so logs of non-interactive runs stay readable).
 */
export class Progress {
  private readonly tty = process.stderr.isTTY === true;
  private lastPrinted = 0;
  private lastText = '';
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly everyMs = 2_000,
  ) {}

  update(text: string, force = false): void {
    const now = Date.now();
    this.lastText = text;
    const line = `  ${this.label}: ${text} (${((now - this.started) / 1000).toFixed(1)} s)`;
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
    } else if (force || now - this.lastPrinted >= this.everyMs) {
      process.stderr.write(`${line}\n`);
      this.lastPrinted = now;
    }
  }

  /** A bar of `done` out of `total` with the current rate. */
  count(done: number, total: number, unit = 'rows'): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const width = 24;
    const filled = Math.min(width, Math.round((done / Math.max(1, total)) * width));
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.update(`${bar} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}, ${fmtRate(done / seconds)}/s`);
  }

  done(text = this.lastText): void {
    const line = `  ${this.label}: ${text} (${((Date.now() - this.started) / 1000).toFixed(1)} s)`;
    process.stderr.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}

export function fmtRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

/** Prints a heading for a phase of a bench. */
export function phase(title: string): void {
  console.log(`\n== ${title}`);
}
