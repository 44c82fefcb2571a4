import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const outDir = fileURLToPath(new URL('../../dist/console', import.meta.url));
/** The budget for what the first page load fetches (scripts and styles the HTML names), gzipped. */
const INITIAL_BUDGET_BYTES = 500 * 1024;

/**
 * Prints the initial bundle's gzipped size (the entry chunk, its static imports and CSS) and fails the
 * build over budget, so a heavy dependency shows up in review rather than on an operator's first load.
 */
function initialBundleBudget(): Plugin {
  return {
    name: 'tributary-initial-bundle-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const initial = new Set<string>();
      const visit = (name: string): void => {
        const item = bundle[name];
        if (!item || initial.has(name) || item.type !== 'chunk') return;
        initial.add(name);
        for (const css of item.viteMetadata?.importedCss ?? []) initial.add(css);
        item.imports.forEach(visit);
      };
      for (const [name, item] of Object.entries(bundle)) if (item.type === 'chunk' && item.isEntry) visit(name);
      let gzipped = 0;
      for (const name of initial) {
        const item = bundle[name];
        const text = item.type === 'chunk' ? item.code : item.source;
        gzipped += gzipSync(typeof text === 'string' ? Buffer.from(text) : Buffer.from(text)).length;
      }
      const kb = (gzipped / 1024).toFixed(1);
      console.log(`console: initial bundle ${kb} kB gzipped (${initial.size} files; budget ${INITIAL_BUDGET_BYTES / 1024} kB)`);
      if (gzipped > INITIAL_BUDGET_BYTES) this.error(`the console's initial bundle is ${kb} kB gzipped, over the 500 kB budget`);
    },
  };
}

export default defineConfig({
  root,
  base: '/console/',
  // Vite 8 transforms JSX itself; no React plugin (no fast refresh needed for a built console)
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [initialBundleBudget()],
  // the budget that counts is the gzipped initial bundle's (above), not Vite's 500 kB of minified text
  build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: true, chunkSizeWarningLimit: 2_000 },
});
