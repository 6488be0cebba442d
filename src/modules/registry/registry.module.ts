import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { AgentEntity } from 'src/modules/registry/agent.entity';
import { AgentsController } from 'src/modules/registry/agents.controller';
import { AgentsRepository } from 'src/modules/registry/agents.repository';
import { AgentsService } from 'src/modules/registry/agents.service';

@Module({
  controllers: [AgentsController],
  exports: [AgentsService],
  imports: [TypeOrmModule.forFeature([AgentEntity])],
  providers: [AgentsRepository, AgentsService],
})
export class RegistryModule {}
