import { Logger } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { TributaryConfig } from '@tributary/config';
import { hashToken, type TokenRepository, type TokenRole } from './token.repository';

/** Who is calling: anyone (authentication was never turned on), a token's role, or refused (401). */
export type Caller = { open: true } | { open: false; role: TokenRole } | { refused: string };

const NO_TOKEN_LEFT =
  'authentication is on for this platform but it has no API token left: set TRIBUTARY_ADMIN_TOKEN to administer it again (docs/api.md)';

/**
 * Bearer tokens, shared by the API's guard and the standalone /metrics server. Authentication is on once
 * TRIBUTARY_ADMIN_TOKEN is set or a token was created, and from then on for good: that is recorded in the
 * platform database, so deleting every token or starting once without the variable refuses (401) instead
 * of opening the API to anyone. Before that (a fresh local setup) everyone is let in; the API listens on
 * 127.0.0.1 by default.
 */
export class Authentication {
  private readonly logger = new Logger('Api');
  private readonly adminHash?: Buffer;

  private constructor(
    private readonly tokens: TokenRepository,
    config: TributaryConfig,
  ) {
    if (config.api.adminToken) this.adminHash = Buffer.from(hashToken(config.api.adminToken), 'hex');
  }

  /** An Authentication that has recorded the environment's token (start). */
  static async started(tokens: TokenRepository, config: TributaryConfig): Promise<Authentication> {
    const authentication = new Authentication(tokens, config);
    await authentication.start();
    return authentication;
  }

  /** Records that the environment's token turned authentication on; warns when nobody can administer. */
  private async start(): Promise<void> {
    if (this.adminHash) return this.tokens.turnAuthenticationOn();
    if ((await this.tokens.authenticationOn()) && !(await this.tokens.anyToken('admin')))
      this.logger.warn(`${NO_TOKEN_LEFT}; until then only tokens still stored (if any) are accepted`);
  }

  /** Whether a token is needed (and so whether the first token created may be anything but admin). */
  async required(): Promise<boolean> {
    return this.adminHash !== undefined || (await this.tokens.authenticationOn());
  }

  /** The caller presenting this `Authorization` header. */
  async caller(authorization: string | undefined): Promise<Caller> {
    if (!(await this.required())) return { open: true };
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) {
      const stored = this.adminHash !== undefined || (await this.tokens.anyToken());
      return { refused: stored ? 'a bearer token is required (Authorization: Bearer <token>)' : NO_TOKEN_LEFT };
    }
    const role = await this.roleOf(token);
    return role ? { open: false, role } : { refused: 'the bearer token is not valid' };
  }

  private async roleOf(token: string): Promise<TokenRole | undefined> {
    const presented = Buffer.from(hashToken(token), 'hex');
    if (this.adminHash && timingSafeEqual(presented, this.adminHash)) return 'admin';
    return this.tokens.authenticate(token);
  }
}
