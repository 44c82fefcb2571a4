import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { ACCESS, type Access } from './auth.decorators';
import { hashToken, TokenRepository, type TokenRole } from './token.repository';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bearer tokens: any valid token reads, `admin` writes, `consumer` also uses the pull API. Auth is on
 * once an admin token is configured or any token exists; before that (a fresh local setup) the API is
 * open, and it listens on 127.0.0.1 by default.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly adminHash?: Buffer;
  private readonly metricsPublic: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(TokenRepository) private readonly tokens: TokenRepository,
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
  ) {
    if (config.api.adminToken) this.adminHash = Buffer.from(hashToken(config.api.adminToken), 'hex');
    this.metricsPublic = config.metricsPublic;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [context.getHandler(), context.getClass()]);
    if (access === 'public' || (access === 'metrics' && this.metricsPublic)) return true;
    if (!this.adminHash && !(await this.tokens.any())) return true;

    const request = context.switchToHttp().getRequest<Request>();
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedException({ detail: 'a bearer token is required (Authorization: Bearer <token>)' });
    const role = await this.roleOf(token);
    if (!role) throw new UnauthorizedException({ detail: 'the bearer token is not valid' });

    if (role === 'admin') return true;
    if (access === 'admin') throw new ForbiddenException({ detail: 'this needs an admin token' });
    if (READS.has(request.method)) return true;
    if (access === 'consumer' && role === 'consumer') return true;
    throw new ForbiddenException({ detail: `a ${role} token cannot make changes; this needs an admin token` });
  }

  private async roleOf(token: string): Promise<TokenRole | undefined> {
    const presented = Buffer.from(hashToken(token), 'hex');
    if (this.adminHash && timingSafeEqual(presented, this.adminHash)) return 'admin';
    return this.tokens.authenticate(token);
  }
}
