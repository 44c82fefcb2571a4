import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a request body against a schema, or answers 400 naming the first bad field and why. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue.path.map(String).join('.') || '(body)';
  throw new BadRequestException({
    detail: `${field}: ${issue.message}`,
    field,
    errors: result.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', reason: i.message })),
  });
}
