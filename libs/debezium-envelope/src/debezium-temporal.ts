/**
 * Our envelope's temporal texts (docs/envelope.md: ISO 8601, as the replication session prints them in UTC)
 * as the numbers Debezium's `time.precision.mode=adaptive` and `interval.handling.mode=numeric` write.
 * A text that is not of the expected form (`infinity`, BC dates, years past 9999) gives `undefined`; the caller
 * keeps the text.
 */

const DAY_MS = 86_400_000;
/** Debezium's MicroDuration: a month is 365.25 / 12 days. */
const DAYS_PER_MONTH = 365.25 / 12;

/** `2024-02-29` -> days since 1970-01-01 (io.debezium.time.Date). */
export function epochDays(date: string): number | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(date);
  if (!m) return undefined;
  return Math.round(utcMs(+m[1], +m[2], +m[3]) / DAY_MS);
}

/** `13:14:15.5` -> microseconds since midnight (io.debezium.time.MicroTime). */
export function dayMicros(time: string): bigint | undefined {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?$/.exec(time);
  if (!m) return undefined;
  const seconds = (+m[1] * 60 + +m[2]) * 60 + +m[3];
  return BigInt(seconds) * 1_000_000n + fractionMicros(m[4]);
}

/** `2024-02-29T13:14:15.123456` (or with `Z`) -> microseconds since the epoch (io.debezium.time.MicroTimestamp). */
export function epochMicros(timestamp: string): bigint | undefined {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d(?:\.\d{1,6})?)Z?$/.exec(timestamp);
  if (!m) return undefined;
  const time = dayMicros(m[4]);
  if (time === undefined) return undefined;
  return BigInt(utcMs(+m[1], +m[2], +m[3])) * 1_000n + time;
}

/** Floor division for the millisecond forms (a time before 1970 rounds down, as Java's does). */
export function microsToMillis(micros: bigint): bigint {
  const q = micros / 1_000n;
  return micros < 0n && q * 1_000n !== micros ? q - 1n : q;
}

/**
 * `13:14:15.5+02` (Postgres' timetz text) -> `11:14:15.5Z` (io.debezium.time.ZonedTime: the time in UTC,
 * seconds always, the fraction without trailing zeros, as Java's ISO_OFFSET_TIME prints it).
 */
export function utcTime(timetz: string): string | undefined {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/.exec(timetz);
  if (!m) return undefined;
  const sign = m[5] === '+' ? 1 : -1;
  const offset = sign * ((+m[6] * 60 + +(m[7] ?? 0)) * 60 + +(m[8] ?? 0));
  const day = 86_400;
  const seconds = ((((+m[1] * 60 + +m[2]) * 60 + +m[3] - offset) % day) + day) % day;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const fraction = (m[4] ?? '').replace(/0+$/, '');
  const hms = `${pad(Math.floor(seconds / 3600))}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`;
  return `${hms}${fraction ? `.${fraction}` : ''}Z`;
}

/**
 * `P1Y2M3DT4H5M6.5S` (IntervalStyle iso_8601, a sign per field) -> Debezium's approximate microseconds,
 * truncated toward zero as its `(long)` cast does.
 */
export function durationMicros(interval: string): number | undefined {
  const m = /^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d+)?)S)?)?$/.exec(interval);
  if (!m || interval === 'P' || interval.endsWith('T')) return undefined;
  const [years, months, days, hours, minutes, seconds] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const totalDays = (years * 12 + months) * DAYS_PER_MONTH + days;
  const totalSeconds = ((totalDays * 24 + hours) * 60 + minutes) * 60 + seconds;
  return Math.trunc(totalSeconds * 1e6);
}

function utcMs(year: number, month: number, day: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
  return d.getTime();
}

function fractionMicros(fraction: string | undefined): bigint {
  return fraction ? BigInt(fraction.padEnd(6, '0')) : 0n;
}
