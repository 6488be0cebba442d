import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';

import { codeForStatus, ErrorCode } from 'src/common/errors/error-code';
import { errorBody } from 'src/common/errors/error-body';
import {
  ErrorResponseDto,
  ValidationErrorResponseDto,
} from 'src/common/openapi/error-response.dto';

const DEFAULTS: Record<number, { description: string; code?: ErrorCode; message: string }> = {
  400: { description: 'The request is well-formed but not acceptable.', message: 'Invalid input' },
  401: { description: 'No or invalid credential.', message: 'Authentication required' },
  403: { description: 'Not allowed for this caller.', message: 'Forbidden' },
  404: {
    description: 'Not found, or not visible to the caller.',
    message: 'Session conv_0194f1c2e3a4b5c6d7e8f90123456789 does not exist',
  },
  409: { description: 'Conflicts with the current state.', message: 'Conflict' },
  410: {
    description: 'The session workspace is gone.',
    code: ErrorCode.WorkspaceMissing,
    message: 'The session workspace no longer exists',
  },
  412: {
    description: 'The harness is not configured.',
    code: ErrorCode.HarnessNotConfigured,
    message: 'Harness not configured',
  },
  413: { description: 'The body or upload is over its limit.', message: 'Payload too large' },
  415: {
    description: 'Unsupported Content-Type.',
    message: 'Content-Type must be application/json',
  },
  429: { description: 'Rate limited; see Retry-After.', message: 'Too many requests' },
  501: { description: 'Not implemented yet.', message: 'Not implemented' },
  502: { description: 'The runner or host answered with an error.', message: 'Bad gateway' },
  503: {
    description: 'No runner or host is connected to serve this.',
    code: ErrorCode.RunnerUnavailable,
    message: 'No runner is connected for this session',
  },
  504: { description: 'The runner or host did not answer in time.', message: 'Timed out' },
};

const VALIDATION_EXAMPLE = {
  detail: [{ loc: ['body', 'agent_id'], msg: 'Field required', type: 'missing' }],
  ...errorBody(ErrorCode.ValidationError, 'Request validation failed'),
};

/** A status, or a status with the route's own description of when it happens. */
export type ApiErrorSpec = number | [status: number, description: string];

/**
 * Documents error responses with the one error body (spec/README.md §3): `ErrorResponseDto`, and
 * `ValidationErrorResponseDto` (with FastAPI's `detail`) for 422. Each gets a concrete example.
 */
export function ApiErrors(...specs: ApiErrorSpec[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorResponseDto, ValidationErrorResponseDto),
    ...specs.map((spec) => {
      const [status, description] = Array.isArray(spec) ? spec : [spec, undefined];
      if (status === 422) {
        return ApiResponse({
          status,
          description: description ?? 'The request failed validation (FastAPI shape).',
          content: {
            'application/json': {
              schema: { $ref: getSchemaPath(ValidationErrorResponseDto) },
              example: VALIDATION_EXAMPLE,
            },
          },
        });
      }
      const known = DEFAULTS[status];
      const code = known?.code ?? codeForStatus(status);
      return ApiResponse({
        status,
        description: description ?? known?.description ?? 'Error.',
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorResponseDto) },
            example: errorBody(code, known?.message ?? 'Error'),
          },
        },
      });
    }),
  );
}
