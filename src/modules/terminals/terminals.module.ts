import { Module } from '@nestjs/common';

import { RunnersModule } from 'src/modules/runners/runners.module';
import { SessionsModule } from 'src/modules/sessions/sessions.module';
import { TerminalAttachGateway } from 'src/modules/terminals/terminal-attach.gateway';
import { TerminalsService } from 'src/modules/terminals/terminals.service';

/**
 * Session terminals: the service and the attach WebSocket. Its controller is registered by
 * FilesModule, ahead of the generic `resources/:resource_id` route.
 */
@Module({
  exports: [TerminalAttachGateway, TerminalsService],
  imports: [RunnersModule, SessionsModule],
  providers: [TerminalAttachGateway, TerminalsService],
})
export class TerminalsModule {}
