/** Draws one status line: `final` is the last one (kept, followed by a newline). */
export type StatusLine = (line: string, final: boolean) => void;

/**
 * A one-line status on `stream` (stderr): rewritten in place on a terminal; otherwise printed as its own
 * line at most every `everyMs` (and the final one always), so logs of non-interactive runs stay readable.
 */
export function statusLine(stream: NodeJS.WriteStream = process.stderr, everyMs = 2_000): StatusLine {
  const tty = stream.isTTY === true;
  let printedAt = 0;
  return (line, final) => {
    if (tty) stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    else if (final || Date.now() - printedAt >= everyMs) {
      stream.write(`${line}\n`);
      printedAt = Date.now();
    }
  };
}
