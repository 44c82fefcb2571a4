// @ts-check
import { readdirSync } from 'node:fs';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/** Every lib under libs/: each one's src/ is private to it, reachable from elsewhere only through `@tributary/<lib>`. */
const libs = readdirSync(new URL('./libs', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** A relative import resolving into libs/<lib>/src from any file outside that lib (apps, other libs, test, bench). */
const libSrcZones = libs.map((lib) => ({
  target: ['apps/**', 'bench/**', 'test/**', 'migrations/**', `libs/!(${lib})/**`],
  from: `libs/${lib}/src`,
  // `@tributary/<lib>` resolves to the lib's index.ts, which is exactly the public way in
  except: ['./index.ts'],
  message: `import from '@tributary/${lib}' (its index.ts), not from inside its src/`,
}));

/** What the console's code may use unqualified in the browser (typescript-eslint checks the rest by type). */
const browserGlobals = Object.fromEntries(
  [
    'window',
    'document',
    'navigator',
    'location',
    'sessionStorage',
    'fetch',
    'Headers',
    'Response',
    'AbortController',
    'TextDecoderStream',
    'HTMLElement',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tributary/**', 'coverage/**', 'jest.config.js', 'eslint.config.mjs'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      // .ts files are modules too (import-x only follows .js by default: no-cycle would see no edges)
      'import-x/extensions': ['.ts', '.tsx'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      'no-console': ['error', { allow: ['warn', 'error', 'table', 'log'] }],
      // no import cycles, between libs (through their index.ts) and inside one
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: libSrcZones }],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@tributary/*/**'], message: "import from '@tributary/<lib>' (its index.ts), not from a path inside it" },
            {
              regex: '^\\.\\.?/(.*/)?libs/[^/]+/src(/index)?$',
              message: "import from '@tributary/<lib>', not a relative path to its src/",
            },
          ],
        },
      ],
    },
  },
  {
    // The web console runs in the browser (its own tsconfig, DOM lib); it talks to the platform only over
    // HTTP, so it imports no lib of the platform at all.
    files: ['apps/console/**/*.{ts,tsx}'],
    languageOptions: { globals: browserGlobals },
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tributary/*'], message: 'the console talks to the platform over its HTTP API only' }] },
      ],
    },
  },
  {
    // Tests and benches read JSON bodies and ad-hoc SQL rows typed `any` and hand them straight to jest's
    // `expect` (which does the checking) or print them: typing each body would restate the API's schemas.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
