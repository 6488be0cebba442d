import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';

/** The errors of the sessions feature; their codes are ErrorCode values (style rule 14). */
export class SessionError extends DomainError {
  /** 400 `invalid_input`: a request the session rules refuse. */
  static invalid(message: string): SessionError {
    return new SessionError(ErrorCode.InvalidInput, message);
  }

  /** 404 `not_found`, worded as upstream words it for sessions. */
  static notFound(sessionId: string): SessionError {
    return new SessionError(ErrorCode.NotFound, `Session ${sessionId} does not exist`);
  }

  /** 503 `runner_unavailable`: no connected runner can take the work. */
  static runnerUnavailable(message: string): SessionError {
    return new SessionError(ErrorCode.RunnerUnavailable, message);
  }

  /** 429 `quota_exceeded`: a per-user or per-session limit (docs/SECURITY.md "Limits"). */
  static quota(message: string): SessionError {
    return new SessionError(ErrorCode.QuotaExceeded, message);
  }
}
