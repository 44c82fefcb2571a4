// Placeholder so `npm run build` builds something at dist/console; the console's own config replaces it.
// Paths are relative to the repository root, where `npm run build` runs.
export default {
  root: 'apps/console',
  base: '/console/',
  build: { outDir: '../../dist/console', emptyOutDir: true },
};
