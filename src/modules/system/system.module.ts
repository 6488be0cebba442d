import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { SessionsModule } from 'src/modules/sessions/sessions.module';
import { HealthController } from 'src/modules/system/health.controller';
import { HealthService } from 'src/modules/system/health.service';
import { ReadinessService } from 'src/modules/system/readiness.service';
import { ReadyController } from 'src/modules/system/ready.controller';
import { SystemController } from 'src/modules/system/system.controller';

@Module({
  controllers: [HealthController, ReadyController, SystemController],
  exports: [ReadinessService],
  imports: [SessionsModule, TerminusModule.forRoot({ logger: false })],
  providers: [HealthService, ReadinessService],
})
export class SystemModule {}
