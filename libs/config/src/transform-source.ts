import ts from 'typescript';

/**
 * A transform or route function's source (JavaScript or TypeScript) as the JavaScript the sandbox runs:
 * types stripped by TypeScript's own transpiler, `export default` turned into `exports.default`. A
 * syntax error is the first diagnostic, with its line and column, so saving a group can refuse it.
 */
export function compileFunctionSource(source: string): { code: string } | { error: string } {
  const out = ts.transpileModule(source, {
    reportDiagnostics: true,
    fileName: 'transform.ts',
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, sourceMap: false },
  });
  const problem = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (problem) return { error: describe(problem, source) };
  if (!/\bexports\.default\s*=|\bfunction\s+(transform|route)\s*\(/.test(out.outputText)) {
    return { error: 'must `export default` a function (or declare `function transform(message)`)' };
  }
  return { code: out.outputText };
}

function describe(d: ts.Diagnostic, source: string): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.start === undefined) return text;
  const before = source.slice(0, d.start).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}: ${text}`;
}
