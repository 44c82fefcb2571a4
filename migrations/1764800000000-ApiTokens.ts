import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiTokens1764800000000 implements MigrationInterface {
  name = 'ApiTokens1764800000000';

  async up(q: QueryRunner): Promise<void> {
    // Only a SHA-256 of each token is kept: a leaked table does not leak working tokens.
    await q.query(`
      CREATE TABLE tributary.api_tokens (
        id           bigserial PRIMARY KEY,
        name         text NOT NULL,
        token_hash   text NOT NULL,
        role         text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        CONSTRAINT api_tokens_name_key UNIQUE (name),
        CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
        CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'read', 'consumer'))
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE tributary.api_tokens');
  }
}
