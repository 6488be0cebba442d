import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { HostsModule } from 'src/modules/hosts/hosts.module';
import { RegistryModule } from 'src/modules/registry/registry.module';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { ChildRailRepository } from 'src/modules/sessions/child-rail.repository';
import { ChildRailService } from 'src/modules/sessions/child-rail.service';
import { ChildSessionsService } from 'src/modules/sessions/child-sessions.service';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { HostRunnersController } from 'src/modules/sessions/host-runners.controller';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { ItemsRepository } from 'src/modules/sessions/items.repository';
import { PresenceService } from 'src/modules/sessions/presence/presence.service';
import { SessionAccessService } from 'src/modules/sessions/session-access.service';
import { SessionForkService } from 'src/modules/sessions/session-fork.service';
import { SessionPlacementService } from 'src/modules/sessions/session-placement.service';
import { SessionReadsRepository } from 'src/modules/sessions/session-reads.repository';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionHooks } from 'src/modules/sessions/session-hooks';
import { SessionsController } from 'src/modules/sessions/sessions.controller';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { StreamSnapshotService } from 'src/modules/sessions/stream/stream-snapshot.service';
import { HostExitListener } from 'src/modules/sessions/turns/host-exit.listener';
import { HostLaunchService } from 'src/modules/sessions/turns/host-launch.service';
import { RunnerEventIngestService } from 'src/modules/sessions/turns/runner-event-ingest.service';
import { RunnerEventsHandler } from 'src/modules/sessions/turns/runner-events.handler';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnEventsService } from 'src/modules/sessions/turns/turn-events.service';
import { TurnInterruptService } from 'src/modules/sessions/turns/turn-interrupt.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { TurnSweeperService } from 'src/modules/sessions/turns/turn-sweeper.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

@Module({
  controllers: [HostRunnersController, SessionsController],
  exports: [
    RunnerLinkService,
    SessionAccessService,
    SessionEventsService,
    SessionForkService,
    SessionHooks,
    SessionsRepository,
    SessionsService,
    TurnPolicyHooks,
    TurnsService,
  ],
  imports: [
    HostsModule,
    RegistryModule,
    RunnersModule,
    TypeOrmModule.forFeature([ItemEntity, SessionEntity, SessionEventEntity]),
  ],
  providers: [
    ChildRailRepository,
    ChildRailService,
    ChildSessionsService,
    ChildSummariesService,
    HostExitListener,
    HostLaunchService,
    ItemsRepository,
    PresenceService,
    RunnerEventIngestService,
    RunnerEventsHandler,
    RunnerLinkService,
    SessionAccessService,
    SessionEventsRepository,
    SessionEventsService,
    SessionForkService,
    SessionPlacementService,
    SessionQuotasService,
    SessionReadsRepository,
    SessionReadsService,
    SessionHooks,
    SessionsRepository,
    SessionsService,
    StreamSnapshotService,
    TurnEventsService,
    TurnInterruptService,
    TurnPolicyHooks,
    TurnSweeperService,
    TurnsService,
  ],
})
export class SessionsModule {}
