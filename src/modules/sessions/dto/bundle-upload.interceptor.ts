import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import { Observable } from 'rxjs';

import { multipartError } from 'src/common/errors/multipart-error.util';
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
      throw multipartError(error, { field: 'bundle', tooLarge: 'The agent bundle is too large' });
    }
  }
}
