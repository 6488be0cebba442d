import { Inject, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Request, Response } from 'express';
import multer from 'multer';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { newId } from 'src/common/ids/ids';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { guardUntypedInput } from 'src/common/validation/input-text.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { isItemType, ITEM_ID_PREFIX, ItemType, parseItemData } from 'src/protocol/items';
import {
  CreateSessionDto,
  CreateSessionMetadataDto,
  SessionEventInputDto,
} from 'src/modules/sessions/dto/session-request.dto';
import {
  CreatedSessionResponseDto,
  SessionResponseDto,
} from 'src/modules/sessions/dto/session-response.dto';
import { ItemsRepository, NewItem } from 'src/modules/sessions/items.repository';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionsService } from 'src/modules/sessions/sessions.service';

const MAX_INITIAL_ITEMS = 1000;

/**
 * `POST /v1/sessions` takes JSON (bind an agent) or multipart (upload an agent bundle), as
 * upstream; the body is read here by content type, then validated like any other body.
 */
@Injectable()
export class SessionCreateService {
  private readonly pipe = new AppValidationPipe();
  private readonly upload: ReturnType<typeof multer>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly turns: TurnsService,
    private readonly items: ItemsRepository,
    private readonly runnerLink: RunnerLinkService,
    private readonly sessions: SessionsService,
    private readonly sessionsRepository: SessionsRepository,
  ) {
    this.upload = multer({
      storage: multer.memoryStorage(),
      limits: {
        fileSize: config.agents.bundleMaxBytes,
        files: 1,
        fields: 4,
        parts: 8,
        fieldSize: 256 * 1024,
      },
    });
  }

  async create(
    auth: AuthPrincipal,
    req: Request,
  ): Promise<SessionResponseDto | CreatedSessionResponseDto> {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('multipart/form-data')) {
      return this.createFromMultipart(auth, req);
    }
    if (!/^application\/([a-z0-9.+-]*\+)?json/.test(type)) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        'Unsupported Media Type: POST /v1/sessions takes application/json or multipart/form-data',
      );
    }
    const dto = (await this.pipe.transform(req.body, {
      type: 'body',
      metatype: CreateSessionDto,
    })) as CreateSessionDto;
    const initial = this.checkInitialItems(dto.initial_items ?? []);
    const session = await this.sessions.create(auth, dto);
    await this.addInitialItems(auth, session, initial);
    return this.sessions.get(auth, session.id);
  }

  private checkInitialItems(items: SessionEventInputDto[]): SessionEventInputDto[] {
    if (items.length > MAX_INITIAL_ITEMS) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `initial_items allows at most ${MAX_INITIAL_ITEMS} items`,
      );
    }
    items.forEach((item, index) => {
      if (!isItemType(item.type)) {
        throw new DomainError(
          ErrorCode.InvalidInput,
          `initial_items[${index}]: '${item.type}' is not an item type`,
        );
      }
      const parsed = parseItemData(item.type, item.data ?? {});
      if ('error' in parsed) {
        throw new DomainError(ErrorCode.InvalidInput, `initial_items[${index}]: ${parsed.error}`);
      }
    });
    return items;
  }

  /**
   * With a connected runner, user messages are dispatched like `POST …/events` (each starts or
   * queues a turn); otherwise every item is stored as history with response id `seed`.
   */
  private async addInitialItems(
    auth: AuthPrincipal,
    session: SessionEntity,
    items: SessionEventInputDto[],
  ): Promise<void> {
    const live = this.runnerLink.isReachable(session);
    const seeds: NewItem[] = [];
    for (const item of items) {
      const data = parseItemData(item.type as never, item.data ?? {}) as {
        data: Record<string, unknown>;
      };
      if (live && item.type === 'message' && data.data.role === 'user') {
        await this.turns.post(auth, session.id, item);
        continue;
      }
      seeds.push({
        id: newId(ITEM_ID_PREFIX[item.type as ItemType] ?? 'itm'),
        response_id: 'seed',
        type: item.type as never,
        status: 'completed',
        created_by: null,
        data: data.data,
      });
    }
    if (seeds.length > 0) {
      await this.items.insertMany(session.id, seeds);
    }
  }

  private async createFromMultipart(
    auth: AuthPrincipal,
    req: Request,
  ): Promise<CreatedSessionResponseDto> {
    await new Promise<void>((resolve, reject) =>
      this.upload.single('bundle')(req, {} as Response, (error: unknown) =>
        error ? reject(multipartError(error)) : resolve(),
      ),
    );
    const body = (req.body ?? {}) as Record<string, unknown>;
    const file = (req as Request & { file?: Express.Multer.File }).file;
    const missing = [
      ...(typeof body.metadata !== 'string' ? ['metadata'] : []),
      ...(!file ? ['bundle'] : []),
    ];
    if (missing.length > 0) {
      throw new RequestValidationError(
        missing.map((part) => ({
          loc: ['body', part],
          msg: 'Field required',
          type: 'missing',
          input: null,
        })),
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(body.metadata as string);
    } catch (error) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `invalid session metadata: ${(error as Error).message}`,
      );
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'invalid session metadata: must be a JSON object',
      );
    }
    guardUntypedInput(raw, ['body', 'metadata']);
    const metadata = plainToInstance(CreateSessionMetadataDto, raw);
    const errors = await validate(metadata, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const detail = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
      throw new DomainError(ErrorCode.InvalidInput, `invalid session metadata: ${detail}`);
    }
    return this.sessions.createFromBundle(auth, metadata, (file as Express.Multer.File).buffer);
  }
}

function multipartError(error: unknown): DomainError {
  const err = error as { code?: string; message?: string; field?: string };
  if (err.code === 'LIMIT_FILE_SIZE') {
    return new DomainError(ErrorCode.PayloadTooLarge, 'The agent bundle is too large');
  }
  if (err.code === 'LIMIT_UNEXPECTED_FILE') {
    return new DomainError(
      ErrorCode.InvalidInput,
      `Unexpected file part '${err.field}'; send the bundle as 'bundle'`,
    );
  }
  if (typeof err.code === 'string' && err.code.startsWith('LIMIT_')) {
    return new DomainError(
      ErrorCode.PayloadTooLarge,
      `Multipart body exceeds a limit: ${err.message}`,
    );
  }
  return new DomainError(
    ErrorCode.InvalidInput,
    `Malformed multipart body: ${err.message ?? 'unreadable'}`,
  );
}
