import { ErrorCode } from 'src/common/errors/error-code';
import { DomainError } from 'src/common/errors/domain.error';
import { ValidationDetail } from 'src/common/errors/error-body';
import { capDetail, cutText } from 'src/common/validation/detail-cap.util';

/**
 * A 422 with FastAPI's `detail` list (style rule 15). Every 422 is built here, so this is where
 * the echo of the request is bounded (`capDetail`): a huge invalid field never comes back whole.
 */
export class RequestValidationError extends DomainError {
  readonly detail: ValidationDetail[];

  /** @param total how many problems there were, when `detail` is already a capped list. */
  constructor(
    detail: ValidationDetail[],
    readonly total: number = detail.length,
  ) {
    const capped = capDetail(detail);
    super(ErrorCode.ValidationError, summarize(capped, total));
    this.detail = capped;
  }
}

function summarize(detail: ValidationDetail[], total: number): string {
  const first = detail[0];
  if (!first) {
    return 'Request validation failed';
  }
  const where = cutText(
    first.loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path').join('.'),
    256,
  );
  const more = total > 1 ? ` (and ${total - 1} more)` : '';
  return `Request validation failed: ${where ? `${where}: ` : ''}${first.msg}${more}`;
}
