import { Global, Module } from '@nestjs/common';

import { EventBus } from 'src/common/bus/event-bus';
import { InMemoryBus } from 'src/common/bus/in-memory.bus';

@Global()
@Module({
  exports: [EventBus],
  providers: [{ provide: EventBus, useClass: InMemoryBus }],
})
export class BusModule {}
