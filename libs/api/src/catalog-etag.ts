import { BadRequestException, ConflictException } from '@nestjs/common';
import type { Response } from 'express';

/** ETag of a catalog entry (source or group): its version. */
export function setCatalogEtag(res: Response, version: number): void {
  res.setHeader('ETag', `"v${version}"`);
}

/** The version an If-Match header names; undefined without one (the update is then unconditional). */
export function expectedVersion(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = /^(?:W\/)?"v(\d{1,9})"$/.exec(ifMatch.trim());
  if (!match)
    throw new BadRequestException({ detail: 'If-Match: must be an ETag this API returned, such as "v3"', field: 'If-Match' });
  return Number(match[1]);
}

export function staleVersion(kind: string, name: string): ConflictException {
  return new ConflictException({
    detail: `${kind} "${name}" changed since the version in If-Match; read it again`,
    field: 'If-Match',
  });
}
