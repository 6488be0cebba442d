import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

import { CreateSessionBodyPipe } from 'src/modules/sessions/dto/create-session-body.pipe';
import {
  CreateSessionDto,
  CreateSessionMetadataDto,
} from 'src/modules/sessions/dto/session-request.dto';

/** `POST /v1/sessions` as upstream takes it: JSON on an agent, or multipart with a bundle. */
export type CreateSessionBody =
  | { kind: 'json'; dto: CreateSessionDto }
  | { kind: 'bundle'; metadata: CreateSessionMetadataDto; bundle: Buffer };

/** What `@CreateSessionBody()` reads off the request for its pipe. */
export interface CreateSessionRequest {
  contentType: string;
  body: unknown;
  /** The `bundle` part, when `BundleUploadInterceptor` read one. */
  file?: { buffer: Buffer };
}

const createSessionRequest = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): CreateSessionRequest => {
    const req = ctx.switchToHttp().getRequest<Request & { file?: { buffer: Buffer } }>();
    return { contentType: req.headers['content-type'] ?? '', body: req.body, file: req.file };
  },
);

/**
 * The body of `POST /v1/sessions`, JSON or multipart, validated into a `CreateSessionBody` by
 * `CreateSessionBodyPipe` (the route runs `BundleUploadInterceptor` so multipart parts are read
 * first).
 */
export const CreateSessionBody = (): ParameterDecorator =>
  createSessionRequest(CreateSessionBodyPipe);
