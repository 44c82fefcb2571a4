import { Inject, Injectable, RequestMethod, type Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, REDIRECT_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { z } from 'zod';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { ACCESS, type Access } from '../auth/auth.decorator';
import { API_DOC, API_QUERY, type ApiDocOptions } from './api-doc.decorator';

const PROBLEM = {
  description: 'RFC 9457 problem document',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          status: { type: 'integer' },
          title: { type: 'string' },
          detail: { type: 'string' },
          field: { type: 'string', description: 'the failing field' },
        },
      },
    },
  },
};

/**
 * The OpenAPI 3.1 document, built from the routes Nest actually registered: a route cannot be missing
 * from it, and request bodies are the zod schemas the handlers validate with.
 */
@Injectable()
export class OpenApiDocument {
  private cached?: Record<string, unknown>;

  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(MetadataScanner) private readonly scanner: MetadataScanner,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(TRIBUTARY_CONFIG) private readonly config: TributaryConfig,
  ) {}

  /** What the guard lets in without a token (AuthGuard): public routes, and /metrics when configured open. */
  private open(access: Access | undefined): boolean {
    return access === 'public' || (access === 'metrics' && this.config.metricsPublic);
  }

  build(): Record<string, unknown> {
    if (this.cached) return this.cached;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as object | undefined;
      const metatype = wrapper.metatype as Type | null;
      if (!instance || !metatype) continue;
      const prefix = String(Reflect.getMetadata(PATH_METADATA, metatype) ?? '');
      const prototype = Object.getPrototypeOf(instance) as Record<string, Type>;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const path = toOpenApiPath(prefix, String(Reflect.getMetadata(PATH_METADATA, handler) ?? ''));
        const doc = this.reflector.get<ApiDocOptions | undefined>(API_DOC, handler);
        const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [handler, metatype]);
        const verb = RequestMethod[method].toLowerCase();
        (paths[path] ??= {})[verb] = {
          summary: doc?.summary ?? name,
          tags: [metatype.name.replace(/Controller$/, '')],
          ...(this.open(access) ? { security: [] } : {}),
          parameters: [
            ...[...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
              name: m[1],
              in: 'path',
              required: true,
              schema: { type: 'string' },
            })),
            ...queryParameters(Reflect.getMetadata(API_QUERY, handler) as z.ZodObject | undefined),
          ],
          ...(doc?.body
            ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body) } } } }
            : {}),
          responses: {
            ...(redirect(Reflect.getMetadata(REDIRECT_METADATA, handler) as Redirect | undefined) ??
              success(method, Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined, doc)),
            '4XX': PROBLEM,
          },
        };
      }
    }
    this.cached = {
      openapi: '3.1.0',
      info: { title: 'Tributary admin API', version: '1', description: 'Change-data-capture for Postgres. See docs/api.md.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      paths,
    };
    return this.cached;
  }
}

function toOpenApiPath(prefix: string, path: string): string {
  const joined = `/${[prefix, path].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
  return joined.replace(/[:*](\w+)/g, '{$1}'); // `:name` and Express 5's wildcard `*path`
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): unknown {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Record<string, unknown>;
  return rest;
}

/** Each query parameter from the zod object the handler parses them with (`@ValidQuery`), as the client sends it. */
function queryParameters(schema: z.ZodObject | undefined): Record<string, unknown>[] {
  if (!schema) return [];
  const object = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    schema: property,
  }));
}

type Redirect = { url: string; statusCode?: number };

/** A route that always redirects (`@Redirect`): its status and where to. */
function redirect(to: Redirect | undefined): Record<string, unknown> | undefined {
  if (!to) return undefined;
  const description = `redirects to ${to.url}`;
  return {
    [String(to.statusCode ?? 302)]: { description, headers: { Location: { schema: { type: 'string', const: to.url } } } },
  };
}

/** The success answer: its status (Nest's default, or `@HttpCode`) and the schema of its body; 204 has none. */
function success(method: RequestMethod, code: number | undefined, doc: ApiDocOptions | undefined): Record<string, unknown> {
  const status = code ?? (method === RequestMethod.POST ? 201 : 200);
  if (status === 204) return { '204': { description: 'done, no content' } };
  const type = doc?.responseType ?? 'application/json';
  const content = doc?.response ? { content: { [type]: { schema: jsonSchema(doc.response, 'output') } } } : {};
  return { [String(status)]: { description: 'success', ...content } };
}
