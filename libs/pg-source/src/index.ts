export { connectSource, quoteIdent, quoteLiteral } from './source-connection';
export { TypeRegistry } from './type-registry';
export { renderValue, type ValueKind } from './value-renderer';
