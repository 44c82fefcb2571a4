import { spawnSync } from 'node:child_process';
import { builtApp } from './support/processes';

/**
 * The CLI is a thin client of the admin API: a command that only talks HTTP must not load the platform
 * (TypeORM, the migrations, the store, the sinks), which made every `tributary` call slow to start.
 */
describe('the tributary CLI', () => {
  it('loads neither TypeORM, the migrations nor the platform libs for a client command', () => {
    const script = `
      process.argv = [process.execPath, ${JSON.stringify(builtApp('cli'))}, '--help'];
      process.on('exit', () => require('node:fs').writeSync(2, '\\nMODULES ' + JSON.stringify(Object.keys(require.cache))));
      require(process.argv[1]);`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(run.stdout).toContain('tributary');
    const loaded = JSON.parse(/\nMODULES (.*)$/s.exec(run.stderr)?.[1] ?? '[]') as string[];
    expect(loaded).toContainEqual(expect.stringMatching(/\/libs\/cli\/src\/cli\.js$/));
    const platform =
      /node_modules\/(typeorm|pg|mysql2|undici|@nestjs\/core)\/|\/migrations\/|\/libs\/(store|catalog|webhook-sink|runtime)\//;
    expect(loaded.filter((m) => platform.test(m))).toEqual([]);
  });
});
