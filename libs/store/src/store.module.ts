import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { TRIBUTARY_CONFIG, type TributaryConfig } from '@tributary/config';
import { PlatformDatabase } from './platform-database';

/** Opens the platform database (starting the embedded one if needed) and runs pending migrations. */
@Global()
@Module({})
export class StoreModule implements OnApplicationShutdown {
  constructor(@Inject(PlatformDatabase) private readonly db: PlatformDatabase) {}

  static forRoot(): DynamicModule {
    return {
      module: StoreModule,
      providers: [
        {
          provide: PlatformDatabase,
          inject: [TRIBUTARY_CONFIG],
          useFactory: (config: TributaryConfig) => PlatformDatabase.open(config),
        },
      ],
      exports: [PlatformDatabase],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
