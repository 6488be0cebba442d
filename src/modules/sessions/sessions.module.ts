import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { RegistryModule } from 'src/modules/registry/registry.module';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { RunnerBridgeService } from 'src/modules/sessions/runner-bridge.service';
import { RunnerLink } from 'src/modules/sessions/runner-link.service';
import { SessionAccessService } from 'src/modules/sessions/session-access.service';
import { SessionCreateService } from 'src/modules/sessions/session-create.service';
import { SessionDispatchService } from 'src/modules/sessions/session-dispatch.service';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { SessionSweeperService } from 'src/modules/sessions/session-sweeper.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsController } from 'src/modules/sessions/sessions.controller';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';

@Module({
  controllers: [SessionsController],
  exports: [SessionsService],
  imports: [
    RegistryModule,
    RunnersModule,
    TypeOrmModule.forFeature([ItemEntity, SessionEntity, SessionEventEntity]),
  ],
  providers: [
    ItemsRepository,
    RunnerBridgeService,
    RunnerLink,
    SessionAccessService,
    SessionCreateService,
    SessionDispatchService,
    SessionEventsRepository,
    SessionEventsService,
    SessionSweeperService,
    SessionsRepository,
    SessionsService,
  ],
})
export class SessionsModule {}
