import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { SERIES_WINDOWS, seriesFrame, shapeSeries, StatsRepository, type Series, type SeriesWindow } from '@tributary/stats';
import { LiveStats } from './live-stats.service';
import { ApiDoc } from './openapi';
import * as R from './openapi/responses.schema';
import { ValidQuery } from './query-params';
import { SseStreams } from './sse-streams.service';

const windows = Object.keys(SERIES_WINDOWS) as [SeriesWindow, ...SeriesWindow[]];
const seriesQuery = z.object({
  window: z.enum(windows, { error: `must be one of ${windows.join(', ')}` }).default('15m'),
});

/** What the console charts: rates and lag over time, and the live numbers as server-sent events. */
@Controller('api/v1/stats')
export class StatsController {
  constructor(
    @Inject(StatsRepository) private readonly stats: StatsRepository,
    @Inject(LiveStats) private readonly live: LiveStats,
    @Inject(SseStreams) private readonly streams: SseStreams,
  ) {}

  /** Appended and delivered messages/s and lag per step of the window, from the platform's 5 s samples. */
  @Get('series')
  @ApiDoc({ summary: 'Rates and lag over the last 15m, 1h, 6h or 24h (one point per step)', response: R.statsSeries })
  async series(@ValidQuery(seriesQuery) { window }: z.infer<typeof seriesQuery>): Promise<Series> {
    const frame = seriesFrame(window, Date.now());
    const steps = await this.stats.steps(frame.fromMs, frame.toMs + frame.stepSeconds * 1000, frame.stepSeconds);
    return shapeSeries(frame, steps);
  }

  /** `event: stats` every 2 s and at once; read it with fetch (EventSource cannot send the token). */
  @Get('live')
  @ApiDoc({
    summary: 'Server-sent events: sources and groups every 2 s',
    response: R.liveStats,
    responseType: 'text/event-stream',
  })
  liveStream(@Req() req: Request, @Res() res: Response): void {
    const stream = this.streams.open(req, res);
    const unsubscribe = this.live.subscribe((json) => stream.send('stats', json));
    stream.onClose(unsubscribe);
  }
}
