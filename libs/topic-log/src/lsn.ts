/** Log sequence numbers as bigint, and their `X/Y` text form. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  if (lo === undefined) throw new Error(`not an LSN: "${text}"`);
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
