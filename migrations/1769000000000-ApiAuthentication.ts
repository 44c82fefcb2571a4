import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Remembers that authentication was turned on, so that deleting every token (or starting once without
 * TRIBUTARY_ADMIN_TOKEN) cannot silently re-open the API: a one-row table, written when the first token
 * is created or the API starts with TRIBUTARY_ADMIN_TOKEN. A platform that has tokens already is on.
 */
export class ApiAuthentication1769000000000 implements MigrationInterface {
  name = 'ApiAuthentication1769000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE tributary.api_authentication (
        singleton     boolean PRIMARY KEY DEFAULT true,
        turned_on_by  text NOT NULL,
        turned_on_at  timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_authentication_singleton_check CHECK (singleton),
        CONSTRAINT api_authentication_turned_on_by_check CHECK (turned_on_by IN ('token', 'environment'))
      )`);
    await q.query(`
      INSERT INTO tributary.api_authentication (turned_on_by)
      SELECT 'token' WHERE EXISTS (SELECT 1 FROM tributary.api_tokens)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.api_authentication');
  }
}
