import { Injectable, OnModuleInit } from '@nestjs/common';

import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { RpcError } from 'src/protocol/json-rpc';
import {
  FILE_GET_MAX_BYTES,
  FileGetParams,
  FileGetResult,
  RUNNER_RPC_ERROR,
  RunnerErrorCode,
} from 'src/protocol/runner-protocol';
import { FilesService } from 'src/modules/files/files.service';
import type { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerHooks } from 'src/modules/runners/runner-hooks';
import { SessionHooks } from 'src/modules/sessions/session-hooks';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/**
 * The files feature's reactions: removes the blobs of deleted sessions (their rows go by ON
 * DELETE CASCADE), and answers `file.get` from a session's runner (its attachments).
 */
@Injectable()
export class FilesListener implements OnModuleInit {
  constructor(
    private readonly files: FilesService,
    private readonly runnerHooks: RunnerHooks,
    private readonly sessionHooks: SessionHooks,
    private readonly sessions: SessionsRepository,
  ) {}

  onModuleInit(): void {
    this.sessionHooks.registerDeleted((ids) => this.files.removeSessionFiles(ids));
    this.runnerHooks.registerFiles({
      onFileGet: (connection, params) => this.fileGet(connection, params),
    });
  }

  /** Only the session's own runner (and its owner's) reads the session's files. */
  private async fileGet(
    connection: RunnerConnection,
    params: FileGetParams,
  ): Promise<FileGetResult> {
    const sessionId = normalizeId(IdPrefix.Session, params?.session_id);
    const session = sessionId ? await this.sessions.getById(sessionId) : null;
    if (
      !session ||
      session.runnerId !== connection.runnerId ||
      session.ownerId !== connection.ownerId
    ) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.SessionUnknown],
        `Session ${params?.session_id} is not bound to this runner`,
        { code: RunnerErrorCode.SessionUnknown },
      );
    }
    const file = await this.files.forRunner(session.id, String(params.file_id), FILE_GET_MAX_BYTES);
    if (!file) {
      throw new RpcError(
        RUNNER_RPC_ERROR[RunnerErrorCode.FileUnavailable],
        `File ${params.file_id} is not a file of this session, or larger than ${FILE_GET_MAX_BYTES} bytes`,
        { code: RunnerErrorCode.FileUnavailable },
      );
    }
    return file;
  }
}
