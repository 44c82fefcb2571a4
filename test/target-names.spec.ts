import { mysqlNameProblem, postgresNameProblem } from '@tributary/db-sink';

/** Names beyond what a target holds exactly are refused (a blocked partition), never shortened. */
describe('target name limits', () => {
  it('Postgres: up to max_identifier_length bytes of UTF-8, counted in bytes, not characters', () => {
    const ok = (name: string) => postgresNameProblem({ table: name }, ['id'], 63);
    expect(ok('n'.repeat(63))).toBeUndefined();
    expect(ok('é'.repeat(31) + 'x')).toBeUndefined(); // 63 bytes
    expect(ok('n'.repeat(64))).toMatch(/is 64 bytes, more than Postgres keeps \(63\); it would be truncated silently/);
    expect(ok('é'.repeat(32))).toMatch(/is 64 bytes/); // 32 characters
    expect(postgresNameProblem({ table: 't' }, ['c'.repeat(64)], 63)).toMatch(/^the column name "c{64}" is 64 bytes/);
    expect(postgresNameProblem({ schema: 's'.repeat(64), table: 't' }, [], 63)).toMatch(/^the schema name/);
    expect(ok('app.users')).toBeUndefined();
    expect(ok('quo"te`tick and space')).toBeUndefined();
  });

  it('MySQL: up to 64 characters, no trailing space, NUL, emoji, schema or case twins', () => {
    const ok = (name: string, columns = ['id'], folds = false) => mysqlNameProblem({ table: name }, columns, folds);
    expect(ok('n'.repeat(64))).toBeUndefined();
    expect(ok('表'.repeat(64))).toBeUndefined(); // characters, not bytes
    expect(ok('n'.repeat(65))).toMatch(/is 65 characters, more than MySQL allows \(64\)/);
    expect(ok('app.users')).toBeUndefined();
    expect(ok('back`tick "quote" and space')).toBeUndefined();
    expect(ok('trail ')).toMatch(/ends with a space/);
    expect(ok(' lead')).toBeUndefined();
    expect(ok('nul\u0000')).toMatch(/NUL/);
    expect(ok('emoji😀')).toMatch(/Basic Multilingual Plane/);
    expect(ok('t', ['id', 'col '])).toMatch(/^the column name "col " ends with a space/);
    expect(ok('t', ['id', 'Name', 'name'])).toMatch(/"Name" and "name" differ only in case/);
    expect(ok('t', ['id', 'é', 'e'])).toBeUndefined(); // MariaDB tells accents apart in column names
    expect(ok('Users', ['id'], true)).toMatch(/folds table names to lower case/);
    expect(ok('users', ['id'], true)).toBeUndefined();
    expect(mysqlNameProblem({ schema: 'app', table: 'users' }, ['id'], false)).toMatch(/plain table names/);
  });
});
