import { Global, Module } from '@nestjs/common';
import { CaptureService } from './capture.service';

@Global()
@Module({ providers: [CaptureService], exports: [CaptureService] })
export class CaptureModule {}
