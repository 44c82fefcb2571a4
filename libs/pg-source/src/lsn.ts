/** Log sequence numbers as bigint, and their `X/Y` text form. */
export function parseLsn(text: string): bigint {
  const slash = text.indexOf('/');
  const hi = parseInt(text.slice(0, slash), 16);
  const lo = parseInt(text.slice(slash + 1), 16);
  if (slash < 1 || !(hi >= 0) || !(lo >= 0) || !/^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/.test(text)) {
    throw new Error(`not an LSN: "${text}"`);
  }
  // Capture parses one per change: one BigInt from an exact number is much cheaper than two from text.
  // Exact below 2^53, that is any WAL position short of 8 PiB; beyond, the text path.
  return hi < 0x200000 ? BigInt(hi * 0x100000000 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
