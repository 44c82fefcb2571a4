import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { z } from 'zod';
import { invalidInput } from './body';
import { API_QUERY } from './openapi/api-doc.decorator';

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

/**
 * The handler's query parameters, parsed with `schema` (see parseQuery); the OpenAPI document lists them
 * from the same schema, so what is documented is what is enforced.
 */
export function ValidQuery(schema: z.ZodObject): ParameterDecorator {
  // Wrapped: Nest takes a decorator argument with a `transform` method, as a zod schema has, for a pipe.
  const parsed = createParamDecorator((data: { schema: z.ZodObject }, ctx: ExecutionContext) =>
    parseQuery(data.schema, ctx.switchToHttp().getRequest<Request>().query),
  )({ schema });
  return (target, key, index) => {
    parsed(target, key, index);
    if (key !== undefined) Reflect.defineMetadata(API_QUERY, schema, (target as Record<string | symbol, object>)[key]);
  };
}
