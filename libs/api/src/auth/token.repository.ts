import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

export type TokenRole = 'admin' | 'read' | 'consumer';

export interface TokenInfo {
  id: string;
  name: string;
  role: TokenRole;
  createdAt: string;
  lastUsedAt: string | null;
}

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** API tokens, kept as SHA-256 hashes: the token itself exists only in the creation response. */
export class TokenRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Returns the new token's record and its secret (shown once). Undefined when the name is taken.
   * In the same statement, authentication is recorded as on: it stays on when every token is deleted.
   */
  async create(name: string, role: TokenRole): Promise<{ info: TokenInfo; token: string } | undefined> {
    const token = `trb_${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.pool.query<TokenRow>(
      `WITH created AS (INSERT INTO tributary.api_tokens (name, token_hash, role) VALUES ($1, $2, $3)
                        ON CONFLICT (name) DO NOTHING RETURNING id, name, role, created_at, last_used_at),
            turned_on AS (INSERT INTO tributary.api_authentication (turned_on_by) SELECT 'token' FROM created
                          ON CONFLICT DO NOTHING)
       SELECT * FROM created`,
      [name, hashToken(token), role],
    );
    return rows.length ? { info: toInfo(rows[0]), token } : undefined;
  }

  async list(): Promise<TokenInfo[]> {
    const { rows } = await this.pool.query<TokenRow>(
      'SELECT id, name, role, created_at, last_used_at FROM tributary.api_tokens ORDER BY id',
    );
    return rows.map(toInfo);
  }

  /**
   * Deletes a token; with `keepAnAdmin`, not the last admin token (`last-admin`). The admin rows are locked
   * first, so two admins deleting each other's tokens at once cannot both succeed.
   */
  async delete(id: string, keepAnAdmin: boolean): Promise<'deleted' | 'missing' | 'last-admin'> {
    const { rows } = await this.pool.query<{ found: boolean; deleted: boolean }>(
      `WITH admins AS (SELECT id FROM tributary.api_tokens WHERE role = 'admin' FOR UPDATE),
            deleted AS (DELETE FROM tributary.api_tokens t
                         WHERE t.id = $1 AND (NOT $2 OR t.role <> 'admin' OR (SELECT count(*) FROM admins) > 1)
                     RETURNING id)
       SELECT EXISTS (SELECT 1 FROM tributary.api_tokens WHERE id = $1) AS found, EXISTS (SELECT 1 FROM deleted) AS deleted`,
      [id, keepAnAdmin],
    );
    if (rows[0].deleted) return 'deleted';
    return rows[0].found ? 'last-admin' : 'missing';
  }

  /** The role of a presented token (and records its use), or undefined. */
  async authenticate(token: string): Promise<TokenRole | undefined> {
    const { rows } = await this.pool.query<{ role: TokenRole }>(
      `UPDATE tributary.api_tokens SET last_used_at = now() WHERE token_hash = $1 RETURNING role`,
      [hashToken(token)],
    );
    return rows[0]?.role;
  }

  /** Whether authentication was ever turned on for this platform (a token created, or the environment's). */
  async authenticationOn(): Promise<boolean> {
    const { rows } = await this.pool.query<{ is_on: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM tributary.api_authentication) OR EXISTS (SELECT 1 FROM tributary.api_tokens) AS is_on`,
    );
    return rows[0].is_on;
  }

  /** Records that TRIBUTARY_ADMIN_TOKEN turned authentication on (once; later starts change nothing). */
  async turnAuthenticationOn(): Promise<void> {
    await this.pool.query(
      `INSERT INTO tributary.api_authentication (turned_on_by) VALUES ('environment') ON CONFLICT DO NOTHING`,
    );
  }

  /** Whether any token (of this role) is stored. */
  async anyToken(role?: TokenRole): Promise<boolean> {
    const { rows } = await this.pool.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM tributary.api_tokens WHERE $1::text IS NULL OR role = $1) AS any`,
      [role ?? null],
    );
    return rows[0].any;
  }
}

/** A row of tributary.api_tokens without its hash. */
interface TokenRow {
  id: string;
  name: string;
  role: TokenRole;
  created_at: Date;
  last_used_at: Date | null;
}

function toInfo(r: TokenRow): TokenInfo {
  return {
    id: String(r.id),
    name: r.name,
    role: r.role,
    createdAt: r.created_at.toISOString(),
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
  };
}
