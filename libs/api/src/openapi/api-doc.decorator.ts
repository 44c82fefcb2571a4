import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';

export const API_DOC = 'tributary:api-doc';
/** The zod object a handler's query parameters are parsed with (set by `@ValidQuery`). */
export const API_QUERY = 'tributary:api-query';

export interface ApiDocOptions {
  summary: string;
  /** The zod schema the handler validates its body with: the document shows exactly what is enforced. */
  body?: z.ZodType;
  /** What a success answers: a JSON schema of it (routes answering 204 have none). */
  response?: z.ZodType;
  /** When the answer is not JSON (`/metrics`, `/docs`). */
  responseType?: string;
}

/** Describes a route in the OpenAPI document (routes without it are listed too, by handler name). */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);
