import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { HostGatewayService } from 'src/modules/hosts/host-gateway.service';
import { HostHooks } from 'src/modules/hosts/host-hooks';
import { HostRouterService } from 'src/modules/hosts/host-router.service';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsController } from 'src/modules/hosts/hosts.controller';
import { HostsRepository } from 'src/modules/hosts/hosts.repository';
import { HostsService } from 'src/modules/hosts/hosts.service';

@Module({
  controllers: [HostsController],
  exports: [HostHooks, HostsService],
  imports: [TypeOrmModule.forFeature([HostEntity])],
  providers: [HostGatewayService, HostHooks, HostRouterService, HostsRepository, HostsService],
})
export class HostsModule {}
