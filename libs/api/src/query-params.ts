import { z } from 'zod';
import { invalidInput } from './body';

/**
 * Query parameters are validated like bodies: one zod object per route (also what the OpenAPI document
 * lists), and a bad value is a 400 problem naming the parameter. An empty value (`?limit=`) is as if the
 * parameter were absent; parameters the route does not know are ignored, as HTTP caches and proxies add some.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, query: unknown): z.infer<S> {
  const given = Object.entries(typeof query === 'object' && query !== null ? query : {}).filter(([, v]) => v !== '');
  const result = schema.safeParse(Object.fromEntries(given));
  if (!result.success) throw invalidInput(result.error, '(query)');
  return result.data;
}

/** An integer from `min` to `max`, written in decimal digits. */
export function queryInt(min: number, max: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d{1,16}$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message);
}

/** A position or id of up to 2^53-1, kept as its decimal string (offsets and ids are int8 in the database). */
export function queryPosition(min: 0 | 1) {
  return queryInt(min, Number.MAX_SAFE_INTEGER).transform(String);
}

/** `true` or `false`, nothing else: a typo is an error, never silently false. */
export const queryFlag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

/** At most this many items, 1 to 1000, 100 when not given. */
export const queryLimit = queryInt(1, 1000).default(100);
