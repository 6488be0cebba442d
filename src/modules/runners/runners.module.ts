import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { RegistryModule } from 'src/modules/registry/registry.module';
import { LocalRunnerService } from 'src/modules/runners/local-runner.service';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerGatewayService } from 'src/modules/runners/runner-gateway.service';
import { RunnerHooks } from 'src/modules/runners/runner-hooks';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';
import { RunnerRouterService } from 'src/modules/runners/runner-router.service';
import { RunnerRpcService } from 'src/modules/runners/runner-rpc.service';
import { RunnersController } from 'src/modules/runners/runners.controller';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionRunnerService } from 'src/modules/runners/session-runner.service';

@Module({
  controllers: [RunnersController],
  exports: [
    LocalRunnerService,
    RunnerHooks,
    RunnerRpcService,
    RunnersService,
    SessionRunnerService,
  ],
  imports: [RegistryModule, TypeOrmModule.forFeature([RunnerConnectionEntity, RunnerLaunchEntity])],
  providers: [
    LocalRunnerService,
    RunnerGatewayService,
    RunnerHooks,
    RunnerRouterService,
    RunnerRpcService,
    RunnersRepository,
    RunnersService,
    SessionRunnerService,
  ],
})
export class RunnersModule {}
