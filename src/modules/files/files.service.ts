import { Inject, Injectable, Logger } from '@nestjs/common';
import { Readable } from 'node:stream';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import { ListEnvelope, listEnvelope, pageRequest } from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RequestValidationError } from 'src/common/validation/request-validation.error';
import { CopyFilesDto, ListFilesQueryDto } from 'src/modules/files/dto/file-request.dto';
import {
  CopiedFileDto,
  FileDeletedResponseDto,
  FileResourceDto,
  etagMatches,
  FilesCopiedResponseDto,
  toContentResponse,
  toFileResource,
} from 'src/modules/files/dto/file-response.dto';
import { FileStorage } from 'src/modules/files/file-storage';
import { FilesRepository, NewSessionFile } from 'src/modules/files/files.repository';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';

/** What the upload interceptor stored for the handler (multer's `req.file`). */
export interface StoredUpload {
  fileId: string;
  storageKey: string;
  filename: string;
  contentType: string;
  size: number;
}

const MIB = 1024 * 1024;
const RESOURCE_EVENT_PREFIX = 'rse';
/** Depth of the parent chain walked by `files:copy` (a cycle guard; real chains are short). */
const MAX_ANCESTRY = 64;

/**
 * Session files (spec/api-reference.md §8.2): the rows, the bytes in the file store, and the
 * `session.resource.created/deleted` events with their `resource_event` items.
 */
@Injectable()
export class FilesService {
  private readonly logger = new Logger('Files');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly access: SessionAccessService,
    private readonly events: SessionEventsService,
    private readonly files: FilesRepository,
    private readonly sessions: SessionsRepository,
    private readonly storage: FileStorage,
  ) {}

  /** Checked before the body is read, so nobody without edit access writes a byte to disk. */
  async authorizeUpload(auth: AuthPrincipal, rawSessionId: string): Promise<SessionEntity> {
    return this.access.require(auth, sessionIdOf(rawSessionId), SessionLevel.Edit);
  }

  /** The byte cap for an upload of a kind (never above the absolute cap). */
  capFor(kind: 'image' | 'pdf' | 'text'): number {
    const { files } = this.config;
    const cap =
      kind === 'image'
        ? files.imageMaxBytes
        : kind === 'pdf'
          ? files.pdfMaxBytes
          : files.textMaxBytes;
    return Math.min(cap, files.maxBytes);
  }

  newUploadKey(sessionId: string): { fileId: string; storageKey: string } {
    const fileId = newId(IdPrefix.File);
    return { fileId, storageKey: `${sessionId}/${fileId}` };
  }

  writeUpload(storageKey: string, source: Readable, maxBytes: number): Promise<number> {
    return this.storage.write(storageKey, source, maxBytes);
  }

  removeBlob(storageKey: string): Promise<void> {
    return this.storage.delete(storageKey);
  }

  /** Records a stored upload: the row, then the resource_event item and the stream event. */
  async create(
    auth: AuthPrincipal,
    sessionId: string,
    upload: StoredUpload | undefined,
  ): Promise<FileResourceDto> {
    if (!upload) {
      throw missingFilePart();
    }
    try {
      await this.access.require(auth, sessionId, SessionLevel.Edit);
      const [file] = await this.files.insertAll([
        {
          id: upload.fileId,
          sessionId,
          filename: upload.filename,
          contentType: upload.contentType,
          bytes: upload.size,
          storageKey: upload.storageKey,
          createdBy: auth.userId,
        },
      ]);
      await this.announceCreated(sessionId, [file]);
      this.logger.log(`File ${file.id} (${file.bytes} bytes) uploaded to ${sessionId}`);
      return toFileResource(file);
    } catch (error) {
      await this.files.deleteByIds([upload.fileId]).catch(() => undefined);
      await this.storage.delete(upload.storageKey).catch(() => undefined);
      throw error;
    }
  }

  async list(
    auth: AuthPrincipal,
    sessionId: string,
    query: ListFilesQueryDto,
  ): Promise<ListEnvelope<FileResourceDto>> {
    await this.access.require(auth, sessionId, SessionLevel.Read);
    const page = pageRequest(query);
    const { rows, hasMore } = await this.files.page(sessionId, {
      ...page,
      after: page.after ? (normalizeId(IdPrefix.File, page.after) ?? page.after) : undefined,
      before: page.before ? (normalizeId(IdPrefix.File, page.before) ?? page.before) : undefined,
    });
    return listEnvelope(rows.map(toFileResource), hasMore, (file) => file.id);
  }

  async get(auth: AuthPrincipal, sessionId: string, fileId: string): Promise<FileResourceDto> {
    await this.access.require(auth, sessionId, SessionLevel.Read);
    return toFileResource(await this.findOrFail(sessionId, fileId));
  }

  /** The bytes (or a 304 when `If-None-Match` already names them). */
  async content(
    auth: AuthPrincipal,
    sessionId: string,
    fileId: string,
    ifNoneMatch?: string,
  ): Promise<Response> {
    await this.access.require(auth, sessionId, SessionLevel.Read);
    const file = await this.findOrFail(sessionId, fileId);
    if (etagMatches(ifNoneMatch, `"${file.id}"`)) {
      return toContentResponse(file, null);
    }
    return toContentResponse(file, this.storage.read(file.storageKey));
  }

  async delete(
    auth: AuthPrincipal,
    sessionId: string,
    fileId: string,
  ): Promise<FileDeletedResponseDto> {
    await this.access.require(auth, sessionId, SessionLevel.Edit);
    const file = await this.findOrFail(sessionId, fileId);
    if (!(await this.files.delete(sessionId, file.id))) {
      throw fileNotFound();
    }
    await this.storage.delete(file.storageKey);
    await this.events.locked(sessionId, async (s) => {
      await s.upsertItems([resourceEventItem('session.resource.deleted', file.id, null)]);
      s.emit('session.resource.deleted', { resource_id: file.id, resource_type: 'file' });
    });
    return { id: file.id, object: 'session.resource.deleted', deleted: true };
  }

  /**
   * Copies files from a strict ancestor of the destination (its parent chain) into it: every
   * blob and row, or none of them; the events follow once all writes succeeded.
   */
  async copy(
    auth: AuthPrincipal,
    destinationId: string,
    dto: CopyFilesDto,
  ): Promise<FilesCopiedResponseDto> {
    const destination = await this.access.require(auth, destinationId, SessionLevel.Edit);
    const { copyMaxFiles, copyMaxBytes } = this.config.files;
    if (dto.file_ids.length > copyMaxFiles) {
      throw invalid(`At most ${copyMaxFiles} files can be copied at once`);
    }
    const ids = dto.file_ids.map((raw) => normalizeId(IdPrefix.File, raw));
    if (new Set(ids).size !== ids.length) {
      throw invalid('file_ids must not repeat a file');
    }
    const sourceId = normalizeId(IdPrefix.Session, dto.source_session_id);
    if (!sourceId || !(await this.isStrictAncestor(sourceId, destination))) {
      throw new DomainError(
        ErrorCode.Forbidden,
        `Session ${dto.source_session_id} is not an ancestor of session ${destinationId}`,
      );
    }
    await this.access.require(auth, sourceId, SessionLevel.Read);
    const found = await this.files.getManyByIds(
      sourceId,
      ids.filter((id): id is string => id !== null),
    );
    const byId = new Map(found.map((file) => [file.id, file]));
    const sources = ids.map((id, index) => {
      const file = id ? byId.get(id) : undefined;
      if (!file) {
        throw new DomainError(
          ErrorCode.NotFound,
          `File ${dto.file_ids[index]} not found in session ${dto.source_session_id}`,
        );
      }
      return file;
    });
    const total = sources.reduce((sum, file) => sum + file.bytes, 0);
    if (total > copyMaxBytes) {
      throw invalid(
        `The files total ${total} bytes; at most ${copyMaxBytes} can be copied at once`,
      );
    }
    const copies: NewSessionFile[] = sources.map((file) => {
      const { fileId, storageKey } = this.newUploadKey(destination.id);
      return { ...file, id: fileId, sessionId: destination.id, storageKey, createdBy: auth.userId };
    });
    let inserted: SessionFileEntity[];
    try {
      for (let i = 0; i < copies.length; i++) {
        await this.storage.copy(sources[i].storageKey, copies[i].storageKey);
      }
      inserted = await this.files.insertAll(copies);
    } catch (error) {
      await Promise.all(copies.map((copy) => this.storage.delete(copy.storageKey).catch(() => 0)));
      this.logger.error(`Copy into ${destination.id} failed: ${(error as Error).message}`);
      throw new DomainError(
        ErrorCode.InternalError,
        'Copying the files failed; nothing was copied',
      );
    }
    const insertedById = new Map(inserted.map((file) => [file.id, file]));
    await this.announceCreated(
      destination.id,
      copies.map((copy) => insertedById.get(copy.id) as SessionFileEntity),
    );
    const mapping: Record<string, CopiedFileDto> = {};
    sources.forEach((file, index) => {
      mapping[file.id] = {
        new_id: copies[index].id,
        filename: file.filename,
        content_type: file.contentType,
      };
    });
    return { object: 'session.files.copied', session_id: destination.id, mapping };
  }

  /** Removes the blobs of deleted sessions (their rows went by cascade). */
  async removeSessionFiles(sessionIds: string[]): Promise<void> {
    for (const id of sessionIds) {
      await this.storage
        .deletePrefix(id)
        .catch((error: Error) =>
          this.logger.warn(`Could not remove the files of ${id}: ${error.message}`),
        );
    }
  }

  /**
   * A file for the session's runner (`file.get`): the name, media type and bytes, base64.
   * Only files of that session, up to `maxBytes`.
   */
  async forRunner(
    sessionId: string,
    rawFileId: string,
    maxBytes: number,
  ): Promise<{ name: string; media_type: string; base64: string } | null> {
    const fileId = normalizeId(IdPrefix.File, rawFileId);
    const file = fileId ? await this.files.getById(sessionId, fileId) : null;
    if (!file || file.bytes > maxBytes) {
      return null;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.storage.read(file.storageKey)) {
      chunks.push(chunk as Buffer);
    }
    return {
      name: file.filename,
      media_type: file.contentType,
      base64: Buffer.concat(chunks).toString('base64'),
    };
  }

  private async announceCreated(sessionId: string, files: SessionFileEntity[]): Promise<void> {
    await this.events.locked(sessionId, async (s) => {
      const resources = files.map(toFileResource);
      await s.upsertItems(
        resources.map((resource) =>
          resourceEventItem('session.resource.created', resource.id, { ...resource }),
        ),
      );
      for (const resource of resources) {
        s.emit('session.resource.created', { resource: { ...resource } });
      }
    });
  }

  private async isStrictAncestor(ancestorId: string, session: SessionEntity): Promise<boolean> {
    let parentId = session.parentSessionId;
    for (let depth = 0; parentId && depth < MAX_ANCESTRY; depth++) {
      if (parentId === ancestorId) {
        return true;
      }
      parentId = (await this.sessions.getById(parentId))?.parentSessionId ?? null;
    }
    return false;
  }

  private async findOrFail(sessionId: string, rawFileId: string): Promise<SessionFileEntity> {
    const fileId = normalizeId(IdPrefix.File, rawFileId);
    const file = fileId ? await this.files.getById(sessionId, fileId) : null;
    if (!file) {
      throw fileNotFound();
    }
    return file;
  }
}

function sessionIdOf(raw: string): string {
  const id = normalizeId(IdPrefix.Session, raw);
  if (!id) {
    throw new DomainError(ErrorCode.NotFound, 'Not found.');
  }
  return id;
}

function resourceEventItem(
  eventType: 'session.resource.created' | 'session.resource.deleted',
  resourceId: string,
  resource: Record<string, unknown> | null,
) {
  return {
    id: newId(RESOURCE_EVENT_PREFIX),
    response_id: newId(IdPrefix.Response),
    type: 'resource_event' as const,
    status: 'completed',
    created_by: null,
    data: {
      event_type: eventType,
      resource_id: resourceId,
      resource_type: 'file',
      ...(resource ? { resource } : {}),
    },
  };
}

export function fileNotFound(): DomainError {
  return new DomainError(ErrorCode.NotFound, 'File not found');
}

function invalid(message: string): DomainError {
  return new DomainError(ErrorCode.InvalidInput, message);
}

function missingFilePart(): DomainError {
  return new RequestValidationError([
    { loc: ['body', 'file'], msg: 'Field required', type: 'missing', input: null },
  ]);
}

export function describeCaps(caps: { image: number; pdf: number; text: number }): string {
  const mib = (n: number) => (n % MIB === 0 ? `${n / MIB} MiB` : `${n} bytes`);
  return `images (image/*, up to ${mib(caps.image)}), PDF (up to ${mib(caps.pdf)}), text, code and JSON (up to ${mib(caps.text)})`;
}
