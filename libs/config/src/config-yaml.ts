import { randomBytes } from 'node:crypto';
import { parseDocument, visit, type ScalarTag } from 'yaml';
import { ConfigError } from './config-error';

const VARIABLE = /\$\{([A-Z0-9_]+)\}/g;

/**
 * Parses a tributary.yaml text, then replaces every `${NAME}` in its values by the environment variable
 * `NAME`, so secrets stay out of the file. Substituting after parsing means a value is only ever a value:
 * a password with `#`, `: `, quotes or a newline cannot end a string, start a comment or add keys.
 * An unquoted value is read as YAML reads a plain scalar (`${PORT}` set to 5432 is a number, as if written
 * in the file); a quoted one stays a string. Comments are not read. An unset variable is an error naming it.
 */
export function parseConfigYaml(text: string, env: NodeJS.ProcessEnv, file: string): unknown {
  // `${NAME}` is not valid everywhere a value may be (`{ a: ${A} }`: `{` opens a flow map), so the parser
  // sees a placeholder made of letters and digits, valid in any scalar; a random part keeps it from meaning
  // anything the file says.
  const nonce = randomBytes(8).toString('hex');
  const placeholder = new RegExp(`tributaryenv${nonce}v([A-Z0-9_]+)z`, 'g');
  const doc = parseDocument(text.replace(VARIABLE, (_, name: string) => `tributaryenv${nonce}v${name}z`));
  if (doc.errors.length) throw doc.errors[0];
  const implicitTags = doc.schema.tags.filter((t): t is ScalarTag => 'test' in t && t.test !== undefined && !!t.default);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes(`tributaryenv${nonce}`)) return;
      const value = node.value.replace(placeholder, (_, name: string) => variable(name, env, file));
      const plain = node.type === 'PLAIN' && node.tag === undefined;
      const tag = plain ? implicitTags.find((t) => t.test?.test(value)) : undefined;
      node.value = tag ? tag.resolve(value, () => undefined, {}) : value;
    },
  });
  return doc.toJS();
}

function variable(name: string, env: NodeJS.ProcessEnv, file: string): string {
  const value = env[name];
  if (value === undefined) throw new ConfigError(`${file}: \${${name}} is used but the environment variable ${name} is not set`);
  return value;
}
