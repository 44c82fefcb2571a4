import { DynamicModule, Global, Module } from '@nestjs/common';
import type { TributaryConfig } from './tributary-config';

export const TRIBUTARY_CONFIG = Symbol('TRIBUTARY_CONFIG');

/**
 * Provides the TributaryConfig that the entry point loaded and validated (once, before Nest starts,
 * so a bad key stops the process with a readable message instead of a stack trace).
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: TributaryConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: TRIBUTARY_CONFIG, useValue: config }],
      exports: [TRIBUTARY_CONFIG],
    };
  }
}
