import { Module } from '@nestjs/common';

import { SessionsModule } from 'src/modules/sessions/sessions.module';
import { HealthController } from 'src/modules/system/health.controller';
import { HealthService } from 'src/modules/system/health.service';
import { SystemController } from 'src/modules/system/system.controller';

@Module({
  controllers: [HealthController, SystemController],
  imports: [SessionsModule],
  providers: [HealthService],
})
export class SystemModule {}
