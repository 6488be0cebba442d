import { Injectable, OnModuleInit } from '@nestjs/common';

import { FilesService } from 'src/modules/files/files.service';
import { SessionHooks } from 'src/modules/sessions/session-hooks';

/** Removes the blobs of deleted sessions (their rows go by ON DELETE CASCADE). */
@Injectable()
export class FilesListener implements OnModuleInit {
  constructor(
    private readonly files: FilesService,
    private readonly sessionHooks: SessionHooks,
  ) {}

  onModuleInit(): void {
    this.sessionHooks.registerDeleted((ids) => this.files.removeSessionFiles(ids));
  }
}
