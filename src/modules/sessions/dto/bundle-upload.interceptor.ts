import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import { Observable } from 'rxjs';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

/**
 * Nest's `FileInterceptor('bundle')` for the multipart form of `POST /v1/sessions`, with the
 * limits of an agent upload, and multer's failures answered as this route always answered them:
 * 413 for a bundle or any other part over its limit, 400 for an unexpected file or a malformed
 * body. Only `multipart/form-data` is read here; other bodies go on to the pipe (JSON, or 415).
 */
@Injectable()
export class BundleUploadInterceptor implements NestInterceptor {
  private readonly upload: NestInterceptor;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const Upload = FileInterceptor('bundle', {
      limits: {
        fileSize: config.agents.bundleMaxBytes,
        files: 1,
        fields: 4,
        parts: 8,
        fieldSize: 256 * 1024,
      },
    });
    this.upload = new Upload();
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const type = context.switchToHttp().getRequest<Request>().headers['content-type'] ?? '';
    if (!type.toLowerCase().startsWith('multipart/form-data')) {
      return next.handle();
    }
    try {
      // Resolves once multer has read the body; the handler only runs when it is subscribed.
      return await this.upload.intercept(context, next);
    } catch (error) {
      throw multipartError(error);
    }
  }
}

/** multer's error (Nest keeps it as the cause of the HttpException it makes) as our answer. */
function multipartError(error: unknown): DomainError {
  const original = (error as { cause?: unknown })?.cause ?? error;
  const err = original as { code?: string; message?: string; field?: string };
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
