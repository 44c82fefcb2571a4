import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { MetricsService } from '@tributary/metrics';
import { MetricsAccess } from './auth';
import * as R from './openapi/responses.schema';
import { ApiDoc } from './openapi';

/** Prometheus scrape endpoint (text exposition format); a token like any read unless TRIBUTARY_METRICS_PUBLIC. */
@Controller()
@MetricsAccess()
export class MetricsController {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  @Get('metrics')
  @Header('Cache-Control', 'no-store')
  @ApiDoc({ summary: 'Prometheus metrics', response: R.text, responseType: 'text/plain' })
  async scrape(@Res() res: Response): Promise<void> {
    const text = await this.metrics.render();
    res.setHeader('Content-Type', this.metrics.contentType);
    res.send(text);
  }
}
