import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { EnvironmentsController } from 'src/modules/files/environments.controller';
import { EnvironmentsService } from 'src/modules/files/environments.service';
import { FileStorage } from 'src/modules/files/file-storage';
import { FileUploadInterceptor } from 'src/modules/files/file-upload.interceptor';
import { FilesController } from 'src/modules/files/files.controller';
import { FilesListener } from 'src/modules/files/files.listener';
import { FilesRepository } from 'src/modules/files/files.repository';
import { FilesService } from 'src/modules/files/files.service';
import { LocalFileStorage } from 'src/modules/files/local-file-storage';
import { ResourcesService } from 'src/modules/files/resources.service';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';
import { RunnersModule } from 'src/modules/runners/runners.module';
import { SessionsModule } from 'src/modules/sessions/sessions.module';
import { TerminalsController } from 'src/modules/terminals/terminals.controller';
import { TerminalsModule } from 'src/modules/terminals/terminals.module';

/** The configured backend (OMNIGENT_FILES_STORAGE). */
function fileStorageFor(files: AppConfig['files']): FileStorage {
  if (files.storage !== 's3') {
    return new LocalFileStorage(files.dir);
  }
  // Loaded only when chosen: the AWS SDK adds about half a second to start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const s3 = require('./s3-file-storage') as typeof import('./s3-file-storage');
  return s3.createS3FileStorage(files.s3);
}

@Module({
  // FilesController and TerminalsController first: their `resources/files…` and
  // `resources/terminals…` routes must win over `resources/:resource_id`.
  controllers: [FilesController, TerminalsController, EnvironmentsController],
  exports: [FilesService],
  imports: [
    RunnersModule,
    SessionsModule,
    TerminalsModule,
    TypeOrmModule.forFeature([SessionFileEntity]),
  ],
  providers: [
    {
      inject: [APP_CONFIG],
      provide: FileStorage,
      useFactory: (config: AppConfig) => fileStorageFor(config.files),
    },
    EnvironmentsService,
    FileUploadInterceptor,
    FilesListener,
    FilesRepository,
    FilesService,
    ResourcesService,
  ],
})
export class FilesModule {}
