export { ApiDoc } from './api-doc.decorator';
export { DocsController } from './docs.controller';
export { OpenApiDocument } from './openapi-document.service';
