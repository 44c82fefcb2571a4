import { BadRequestException } from '@nestjs/common';

/** Parses an optional non-negative integer query parameter, or answers 400 naming it. */
export function intParam(value: string | undefined, field: string, opts: { min: number; max: number; default: number }): number {
  if (value === undefined || value === '') return opts.default;
  if (!/^\d+$/.test(value) || Number(value) < opts.min || Number(value) > opts.max) {
    throw new BadRequestException({ detail: `${field} must be an integer from ${opts.min} to ${opts.max}`, field });
  }
  return Number(value);
}
