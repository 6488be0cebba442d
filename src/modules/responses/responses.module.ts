import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import { RegistryModule } from 'src/modules/registry/registry.module';
import { ResponseEntity } from 'src/modules/responses/response.entity';
import { ResponsesController } from 'src/modules/responses/responses.controller';
import { ResponsesRepository } from 'src/modules/responses/responses.repository';
import { ResponsesService } from 'src/modules/responses/responses.service';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { SessionsModule } from 'src/modules/sessions/sessions.module';

@Module({
  controllers: [ResponsesController],
  imports: [
    RegistryModule,
    RunnersModule,
    SessionsModule,
    TypeOrmModule.forFeature([ResponseEntity]),
  ],
  providers: [ResponsesRepository, ResponsesService],
})
export class ResponsesModule {}
