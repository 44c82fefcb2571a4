/**
 * Kafka Connect's Decimal (`decimal.handling.mode=precise`, Debezium's default): the unscaled value as
 * big-endian two's complement bytes, as Java's `BigInteger.toByteArray` gives them (the fewest bytes that
 * keep the sign), base64 in JSON.
 */

/** `"-12.30"` at scale 2 -> `-1230n`; a text with more fraction digits than the scale is refused. */
export function unscaled(text: string, scale: number): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined; // NaN, Infinity
  const fraction = m[3] ?? '';
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) return undefined;
  const digits = m[2] + fraction.slice(0, scale).padEnd(scale, '0');
  const value = BigInt(digits);
  return m[1] ? -value : value;
}

/** The scale of a decimal text: its fraction digits (`"1.250"` -> 3), as Postgres stored it. */
export function scaleOf(text: string): number {
  const point = text.indexOf('.');
  return point < 0 ? 0 : text.length - point - 1;
}

export function decimalBytes(value: bigint): string {
  let length = 1;
  while (value >= 1n << BigInt(8 * length - 1) || value < -(1n << BigInt(8 * length - 1))) length++;
  let v = value < 0n ? (1n << BigInt(8 * length)) + value : value;
  const bytes = Buffer.alloc(length);
  for (let i = length - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes.toString('base64');
}

/** Postgres' money text (`$1,234.56`, `-$1.00`, `($1.00)`) as a plain decimal text. */
export function moneyDecimal(text: string): string | undefined {
  const negative = text.includes('-') || /^\(.*\)$/.test(text);
  const plain = text.replace(/[^0-9.]/g, '');
  if (!/^\d+(\.\d+)?$/.test(plain)) return undefined;
  return negative ? `-${plain}` : plain;
}
