import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const API_DOC = 'tributary:api-doc';

export interface ApiDocOptions {
  summary: string;
  /** The zod schema the handler validates its body with: the document shows exactly what is enforced. */
  body?: z.ZodType;
}

/** Describes a route in the OpenAPI document (routes without it are listed too, by handler name). */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);
