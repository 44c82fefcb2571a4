import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { ACCESS, type Access } from './auth.decorator';
import { Authentication } from './authentication';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Bearer tokens (Authentication): any valid token reads, `admin` writes, `consumer` also uses the pull API. */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly metricsPublic: boolean;

  constructor(
    private readonly reflector: Reflector,
    @Inject(Authentication) private readonly authentication: Authentication,
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
  ) {
    this.metricsPublic = config.metricsPublic;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [context.getHandler(), context.getClass()]);
    if (access === 'public' || (access === 'metrics' && this.metricsPublic)) return true;

    const request = context.switchToHttp().getRequest<Request>();
    const caller = await this.authentication.caller(request.headers.authorization);
    if ('refused' in caller) throw new UnauthorizedException({ detail: caller.refused });
    if (caller.open || caller.role === 'admin') return true;
    const { role } = caller;
    if (access === 'admin') throw new ForbiddenException({ detail: 'this needs an admin token' });
    if (READS.has(request.method)) return true;
    if (access === 'consumer' && role === 'consumer') return true;
    throw new ForbiddenException({ detail: `a ${role} token cannot make changes; this needs an admin token` });
  }
}
