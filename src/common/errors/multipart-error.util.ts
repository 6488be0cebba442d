import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';

/**
 * multer's failure (Nest keeps it as the cause of the HttpException it makes) as our answer:
 * 413 for the file (`tooLarge` says why) or any other part over its limit, 400 for a file part
 * other than `field` or a malformed body. A DomainError raised while reading passes through.
 */
export function multipartError(
  error: unknown,
  upload: { field: string; tooLarge: string },
): DomainError {
  const original = (error as { cause?: unknown })?.cause ?? error;
  if (original instanceof DomainError) {
    return original;
  }
  const err = original as { code?: string; message?: string; field?: string };
  if (err.code === 'LIMIT_FILE_SIZE') {
    return new DomainError(ErrorCode.PayloadTooLarge, upload.tooLarge);
  }
  if (err.code === 'LIMIT_UNEXPECTED_FILE') {
    return new DomainError(
      ErrorCode.InvalidInput,
      `Unexpected file part '${err.field}'; send the ${upload.field} as '${upload.field}'`,
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
