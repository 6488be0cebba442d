import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request } from 'express';
import type { StorageEngine } from 'multer';
import { Observable } from 'rxjs';
import { Readable } from 'node:stream';

import type { RequestWithPrincipal } from 'src/common/auth/auth.decorators';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { multipartError } from 'src/common/errors/multipart-error.util';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { FileTooLargeError } from 'src/modules/files/file-storage';
import { describeCaps, FilesService, StoredUpload } from 'src/modules/files/files.service';
import { resolveUploadType, safeFilename } from 'src/modules/files/media-type.util';

type UploadRequest = Request & RequestWithPrincipal & { uploadSessionId?: string };

/**
 * Reads `POST …/resources/files`: checks access before a byte of the body is read, then streams
 * the one `file` part into the file store (multer with our storage engine: never buffered whole).
 * The type is decided from the part's headers before its bytes (415), and the bytes are counted
 * as they pass (413 at the cap of the type); whatever was written of a refused or broken upload
 * is removed.
 */
@Injectable()
export class FileUploadInterceptor implements NestInterceptor {
  private readonly upload: NestInterceptor;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly files: FilesService,
  ) {
    const Upload = FileInterceptor('file', {
      storage: this.storageEngine(),
      limits: {
        fileSize: config.files.maxBytes,
        files: 1,
        fields: 4,
        parts: 8,
        fieldSize: 64 * 1024,
      },
    });
    this.upload = new Upload();
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<UploadRequest>();
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (!type.startsWith('multipart/form-data')) {
      throw new DomainError(
        ErrorCode.UnsupportedMediaType,
        "Unsupported Media Type: send the file as multipart/form-data, part 'file'",
      );
    }
    const session = await this.files.authorizeUpload(
      req.principal as NonNullable<RequestWithPrincipal['principal']>,
      String(req.params.session_id),
    );
    req.uploadSessionId = session.id;
    let handled: Observable<unknown>;
    try {
      handled = await this.upload.intercept(context, next);
    } catch (error) {
      throw multipartError(error, {
        field: 'file',
        tooLarge: `File is larger than the ${this.config.files.maxBytes} bytes any upload may have`,
      });
    }
    const body = req.body as Record<string, unknown> | undefined;
    if (!req.file && body?.file !== undefined) {
      // A `file` part without a filename reaches multer as a plain field.
      throw new DomainError(ErrorCode.InvalidInput, 'filename is required');
    }
    return handled;
  }

  private storageEngine(): StorageEngine {
    const files = this.files;
    const caps = this.config.files;
    return {
      _handleFile(req, file, callback) {
        const sessionId = (req as UploadRequest).uploadSessionId as string;
        const filename = safeFilename(file.originalname);
        if (!filename) {
          callback(new DomainError(ErrorCode.InvalidInput, 'filename is required'));
          return;
        }
        const resolved = resolveUploadType(file.mimetype, filename);
        if (!resolved) {
          callback(
            new DomainError(
              ErrorCode.UnsupportedMediaType,
              `Unsupported attachment type '${file.mimetype || 'none'}' for '${filename}'; ` +
                `allowed: ${describeCaps({ image: caps.imageMaxBytes, pdf: caps.pdfMaxBytes, text: caps.textMaxBytes })}`,
            ),
          );
          return;
        }
        const cap = files.capFor(resolved.kind);
        const { fileId, storageKey } = files.newUploadKey(sessionId);
        files
          .writeUpload(storageKey, file.stream as Readable, cap)
          .then((size) => {
            const stored: StoredUpload = {
              fileId,
              storageKey,
              filename,
              contentType: resolved.type,
              size,
            };
            callback(null, stored as unknown as Partial<Express.Multer.File>);
          })
          .catch((error: unknown) =>
            callback(
              error instanceof FileTooLargeError
                ? new DomainError(
                    ErrorCode.PayloadTooLarge,
                    `File '${filename}' is larger than the ${cap} bytes allowed for ${resolved.kind === 'text' ? 'text' : resolved.kind === 'pdf' ? 'PDF' : 'image'} uploads`,
                  )
                : (error as Error),
            ),
          );
      },
      _removeFile(_req, file, callback) {
        const key = (file as unknown as Partial<StoredUpload>).storageKey;
        if (!key) {
          callback(null);
          return;
        }
        files.removeBlob(key).then(
          () => callback(null),
          (error: Error) => callback(error),
        );
      },
    };
  }
}
