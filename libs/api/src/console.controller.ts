import { Controller, Get, Inject, NotFoundException, Param, Redirect, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { Public } from './auth';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';

/** What the console's page may load and talk to: itself only (it calls this API with fetch, same origin). */
export const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
/** Vite names built assets by their content hash: a changed file is a new name, so they never go stale. */
const HASHED_ASSET = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * The web console (apps/console, built by `npm run build` into dist/console), served by the api role at
 * /console/ with no token: the page asks for one, and every API call it makes carries it. Paths without
 * a file are the single-page app's own routes (index.html); missing assets are a 404.
 */
@Controller()
@Public()
export class ConsoleController {
  private readonly root: string;

  constructor(@Inject(TRIBUTARY_CONFIG) config: TributaryConfig) {
    this.root = resolve(config.api.consoleDir ?? join(installationDir(), 'dist', 'console'));
  }

  @Get()
  @Redirect('/console/', 302)
  @ApiDoc({ summary: 'Redirects to the web console' })
  home(): void {}

  @Get('console')
  @ApiDoc({ summary: "The web console's page", response: R.text, responseType: 'text/html' })
  page(@Res() res: Response): void {
    this.sendIndex(res);
  }

  @Get('console/*path')
  @ApiDoc({ summary: "The web console's files (its own routes answer its page)", response: R.text, responseType: 'text/html' })
  file(@Param('path') path: string[] | string, @Res() res: Response): void {
    const relative = (Array.isArray(path) ? path : [path]).join('/');
    const file = this.fileOf(relative);
    if (file === undefined || relative === 'index.html') return this.sendIndex(res, relative);
    const immutable = HASHED_ASSET.test(relative);
    res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.sendFile(file, { dotfiles: 'deny' });
  }

  private sendIndex(res: Response, relative = ''): void {
    const index = join(this.root, 'index.html');
    if (!existsSync(index)) {
      throw new ServiceUnavailableException({
        detail: `the console is not built (no ${index}): run \`npm run build\``,
      });
    }
    if (relative.startsWith('assets/')) throw new NotFoundException({ detail: `no console file ${relative}`, field: 'path' });
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('Cache-Control', 'no-cache'); // a new build's page must be fetched again, its assets need not
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.sendFile(index);
  }

  /** The built file at `relative`, or undefined (nothing there, a folder, or outside the console's folder). */
  private fileOf(relative: string): string | undefined {
    const file = resolve(this.root, relative);
    if (!file.startsWith(this.root + sep)) return undefined;
    if (!existsSync(file) || !statSync(file).isFile()) return undefined;
    return file;
  }
}

/** The folder holding package.json above this file: the source tree, or the installation dist/ is in. */
function installationDir(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
