import { HttpStatus } from '@nestjs/common';

/** Wire error codes (spec/api-reference.md §14.1, spec/README.md §3). Lower snake_case only. */
export enum ErrorCode {
  AlreadyExists = 'already_exists',
  BadGateway = 'bad_gateway',
  Conflict = 'conflict',
  Forbidden = 'forbidden',
  HarnessNotConfigured = 'harness_not_configured',
  InternalError = 'internal_error',
  InvalidInput = 'invalid_input',
  NotFound = 'not_found',
  NotImplemented = 'not_implemented',
  PayloadTooLarge = 'payload_too_large',
  QuotaExceeded = 'quota_exceeded',
  RateLimited = 'rate_limited',
  RunnerCapabilityMismatch = 'runner_capability_mismatch',
  RunnerUnavailable = 'runner_unavailable',
  ServiceUnavailable = 'service_unavailable',
  Timeout = 'timeout',
  Unauthorized = 'unauthorized',
  UnsupportedMediaType = 'unsupported_media_type',
  ValidationError = 'validation_error',
  WorkspaceMissing = 'workspace_missing',
}

export const ERROR_STATUS: Record<ErrorCode, HttpStatus> = {
  [ErrorCode.AlreadyExists]: HttpStatus.CONFLICT,
  [ErrorCode.BadGateway]: HttpStatus.BAD_GATEWAY,
  [ErrorCode.Conflict]: HttpStatus.CONFLICT,
  [ErrorCode.Forbidden]: HttpStatus.FORBIDDEN,
  [ErrorCode.HarnessNotConfigured]: HttpStatus.PRECONDITION_FAILED,
  [ErrorCode.InternalError]: HttpStatus.INTERNAL_SERVER_ERROR,
  [ErrorCode.InvalidInput]: HttpStatus.BAD_REQUEST,
  [ErrorCode.NotFound]: HttpStatus.NOT_FOUND,
  [ErrorCode.NotImplemented]: HttpStatus.NOT_IMPLEMENTED,
  [ErrorCode.PayloadTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [ErrorCode.QuotaExceeded]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.RateLimited]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.RunnerCapabilityMismatch]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.RunnerUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.ServiceUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [ErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
  [ErrorCode.Unauthorized]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.UnsupportedMediaType]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [ErrorCode.ValidationError]: HttpStatus.UNPROCESSABLE_ENTITY,
  [ErrorCode.WorkspaceMissing]: HttpStatus.GONE,
};

/** The code for an error that carries only an HTTP status (style rule 15). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.InvalidInput;
    case 401:
      return ErrorCode.Unauthorized;
    case 403:
      return ErrorCode.Forbidden;
    case 404:
      return ErrorCode.NotFound;
    case 409:
      return ErrorCode.Conflict;
    case 413:
      return ErrorCode.PayloadTooLarge;
    case 415:
      return ErrorCode.UnsupportedMediaType;
    case 422:
      return ErrorCode.ValidationError;
    case 429:
      return ErrorCode.RateLimited;
    case 501:
      return ErrorCode.NotImplemented;
    case 502:
      return ErrorCode.BadGateway;
    case 503:
      return ErrorCode.ServiceUnavailable;
    case 504:
      return ErrorCode.Timeout;
    default:
      return status >= 500 ? ErrorCode.InternalError : ErrorCode.InvalidInput;
  }
}
