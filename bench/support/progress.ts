import { progressBar, statusLine, type StatusLine } from '@tributary/terminal';

/**
 * A one-line progress indicator on stderr: rewritten in place on a terminal, printed at most every
 * few seconds otherwise (so logs of non-interactive runs stay readable).
 */
export class Progress {
  private readonly draw: StatusLine;
  private lastText = '';
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    everyMs = 2_000,
  ) {
    this.draw = statusLine(process.stderr, everyMs);
  }

  update(text: string): void {
    this.lastText = text;
    this.draw(this.line(text), false);
  }

  /** A bar of `done` out of `total` with the current rate. */
  count(done: number, total: number, unit = 'rows'): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const bar = progressBar(done / Math.max(1, total), 24);
    this.update(`${bar} ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} ${unit}, ${fmtRate(done / seconds)}/s`);
  }

  done(text = this.lastText): void {
    this.draw(this.line(text), true);
  }

  private line(text: string): string {
    return `  ${this.label}: ${text} (${((Date.now() - this.started) / 1000).toFixed(1)} s)`;
  }
}

export function fmtRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

/** Prints a heading for a phase of a bench. */
export function phase(title: string): void {
  console.log(`\n== ${title}`);
}
