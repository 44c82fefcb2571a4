import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a request body against a schema, or answers 400 naming the first bad field and why. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  throw invalidInput(result.error, '(body)');
}

/** The 400 for an input that failed its schema: the first bad field and why, then every one. */
export function invalidInput(error: z.ZodError, whole: string): BadRequestException {
  const fieldOf = (issue: z.core.$ZodIssue) => issue.path.map(String).join('.') || whole;
  const field = fieldOf(error.issues[0]);
  return new BadRequestException({
    detail: `${field}: ${error.issues[0].message}`,
    field,
    errors: error.issues.map((i) => ({ field: fieldOf(i), reason: i.message })),
  });
}
