import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  UnprocessableEntityException,
} from '@nestjs/common';
import { z } from 'zod';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { parseBody } from '../body';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { AdminOnly } from './auth.decorator';
import { Authentication } from './authentication';
import { TokenRepository, type TokenInfo } from './token.repository';
import * as R from '../openapi/responses.schema';

const createToken = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 lowercase letters, digits, dots, dashes or underscores'),
    role: z.enum(['admin', 'read', 'consumer']),
  })
  .strict();

@Controller('api/v1/tokens')
@AdminOnly()
export class TokensController {
  private readonly envAdmin: boolean;

  constructor(
    @Inject(TokenRepository) private readonly tokens: TokenRepository,
    @Inject(Authentication) private readonly authentication: Authentication,
    @Inject(TRIBUTARY_CONFIG) config: TributaryConfig,
  ) {
    this.envAdmin = config.api.adminToken !== undefined;
  }

  /**
   * The token is in this response only; afterwards only its hash exists. The first token turns
   * authentication on for good, so on an open API it must be an admin token: a read or consumer token
   * first would leave nobody able to administer the API.
   */
  @Post()
  @ApiDoc({ summary: 'Create an API token (shown once)', body: createToken, response: R.tokenCreated })
  async create(@Body() body: unknown): Promise<TokenInfo & { token: string }> {
    const { name, role } = parseBody(createToken, body);
    if (role !== 'admin' && !(await this.authentication.required()))
      throw new UnprocessableEntityException({
        detail: `the first token turns authentication on, so it must be an admin token (a ${role} token could not administer the API)`,
        field: 'role',
      });
    const created = await this.tokens.create(name, role);
    if (!created) throw new ConflictException({ detail: `a token named "${name}" exists`, field: 'name' });
    return { ...created.info, token: created.token };
  }

  @Get()
  @ApiDoc({ summary: 'List tokens (no secrets)', response: R.tokenList })
  list(): Promise<TokenInfo[]> {
    return this.tokens.list();
  }

  /**
   * Tokens turn authentication on, so without TRIBUTARY_ADMIN_TOKEN the last admin token stays: deleting it
   * would leave nobody to administer the API, or with no token left open it to anyone (as Grafana keeps its
   * last admin). Create another admin token first.
   */
  @Delete(':id')
  @ApiDoc({ summary: 'Revoke a token' })
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    const result = /^\d{1,18}$/.test(id) ? await this.tokens.delete(id, !this.envAdmin) : 'missing';
    if (result === 'missing') throw new NotFoundException({ detail: `no token ${id}` });
    if (result === 'last-admin')
      throw new ConflictException({
        detail:
          'this is the last admin token: without it nobody could administer the API (and with no token left it would be open to anyone); create another admin token first, or set TRIBUTARY_ADMIN_TOKEN',
        field: 'id',
      });
  }
}
