import { ErrorCode } from 'src/common/errors/error-code';
import { DomainError } from 'src/common/errors/domain.error';
import { ValidationDetail } from 'src/common/errors/error-body';

/** A 422 with FastAPI's `detail` list (style rule 15). */
export class RequestValidationError extends DomainError {
  constructor(readonly detail: ValidationDetail[]) {
    super(ErrorCode.ValidationError, summarize(detail));
  }
}

function summarize(detail: ValidationDetail[]): string {
  const first = detail[0];
  if (!first) {
    return 'Request validation failed';
  }
  const where = first.loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path').join('.');
  const more = detail.length > 1 ? ` (and ${detail.length - 1} more)` : '';
  return `Request validation failed: ${where ? `${where}: ` : ''}${first.msg}${more}`;
}
