export { MessagePipeline } from './message-pipeline';
export { Sandbox, TransformError, type SandboxFunctions } from './sandbox';
export { compileFilter } from './message-filter';
export { compileBuiltin } from './builtin-transforms';
export { compileRouteTemplate } from './route-template';
