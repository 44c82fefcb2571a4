import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from '@tributary/store';
import { CaptureStatus, SourceCapture } from './source-capture';

/** Runs the capture of every configured source for as long as the process lives. */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly captures: SourceCapture[];

  constructor(@Inject(TRIBUTARY_CONFIG) config: TributaryConfig, @Inject(PlatformDatabase) db: PlatformDatabase) {
    this.captures = config.sources.map((source) => new SourceCapture(source, config, db));
  }

  onApplicationBootstrap(): void {
    for (const c of this.captures) c.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.captures.map((c) => c.stop()));
  }

  statuses(): CaptureStatus[] {
    return this.captures.map((c) => c.status());
  }
}
