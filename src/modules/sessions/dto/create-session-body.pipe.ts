import { Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { AppValidationPipe } from 'src/common/validation/app-validation.pipe';
import { guardUntypedInput } from 'src/common/validation/input-text.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';
import {
  CreateSessionDto,
  CreateSessionMetadataDto,
} from 'src/modules/sessions/dto/session-request.dto';
import type {
  CreateSessionBody,
  CreateSessionRequest,
} from 'src/modules/sessions/dto/create-session-body.decorator';
import { SessionError } from 'src/modules/sessions/sessions.errors';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json/;

/**
 * Turns the create request into a validated `CreateSessionBody` by content type: JSON through
 * the shared AppValidationPipe (422s as for any body), multipart from the parts
 * `BundleUploadInterceptor` read (a missing part is a 422 at body.<part>; bad metadata a 400, as
 * upstream), anything else 415.
 */
@Injectable()
export class CreateSessionBodyPipe implements PipeTransform<CreateSessionRequest> {
  private readonly validation = new AppValidationPipe();

  async transform(request: CreateSessionRequest): Promise<CreateSessionBody> {
    const type = request.contentType.toLowerCase();
    if (type.startsWith('multipart/form-data')) {
      return this.multipart(request);
    }
    if (!JSON_TYPE.test(type)) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        'Unsupported Media Type: POST /v1/sessions takes application/json or multipart/form-data',
      );
    }
    const dto = (await this.validation.transform(request.body, {
      type: 'body',
      metatype: CreateSessionDto,
    })) as CreateSessionDto;
    return { kind: 'json', dto };
  }

  private async multipart(request: CreateSessionRequest): Promise<CreateSessionBody> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const missing = [
      ...(typeof body.metadata !== 'string' ? ['metadata'] : []),
      ...(!request.file ? ['bundle'] : []),
    ];
    if (typeof body.metadata !== 'string' || !request.file) {
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
      raw = JSON.parse(body.metadata);
    } catch (error) {
      throw SessionError.invalid(`invalid session metadata: ${(error as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw SessionError.invalid('invalid session metadata: must be a JSON object');
    }
    // What the global pipe does for JSON bodies: 422 for unstorable text or over-deep nesting,
    // and prototype keys removed, before class-transformer sees the metadata.
    guardUntypedInput(raw, ['body', 'metadata']);
    const metadata = plainToInstance(CreateSessionMetadataDto, raw);
    const errors = await validate(metadata, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const detail = errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
      throw SessionError.invalid(`invalid session metadata: ${detail}`);
    }
    return { kind: 'bundle', metadata, bundle: request.file.buffer };
  }
}
