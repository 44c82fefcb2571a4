import { Controller, Get, Header, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { dirname, join } from 'node:path';
import { Public } from '../auth/auth.decorator';
import { ApiDoc } from './api-doc.decorator';
import { OpenApiDocument } from './openapi-document.service';
import * as R from './responses.schema';

const ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js']);
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tributary API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;

/** The OpenAPI document and interactive docs (Swagger UI served from the installed package, no CDN). */
@Controller()
@Public()
export class DocsController {
  private readonly assets = dirname(require.resolve('swagger-ui-dist/package.json'));

  constructor(@Inject(OpenApiDocument) private readonly document: OpenApiDocument) {}

  @Get('openapi.json')
  @ApiDoc({ summary: 'This OpenAPI document', response: R.openApiDocument })
  openapi(): Record<string, unknown> {
    return this.document.build();
  }

  @Get('docs')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @ApiDoc({ summary: 'Swagger UI', response: R.text, responseType: 'text/html' })
  page(): string {
    return PAGE;
  }

  @Get('docs/assets/:file')
  @ApiDoc({ summary: "Swagger UI's assets", response: R.text, responseType: 'application/octet-stream' })
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (!ASSETS.has(file)) throw new NotFoundException({ detail: `no asset ${file}`, field: 'file' });
    res.sendFile(join(this.assets, file));
  }
}
