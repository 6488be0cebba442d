import { ApiResponse } from '@nestjs/swagger';

/**
 * A JSON response documented by its example, for routes whose body is the runner's own object
 * (no DTO class on our side).
 */
export function JsonResponse(example: unknown, description: string, status = 200) {
  return ApiResponse({
    status,
    description,
    content: {
      'application/json': {
        schema: { type: 'object', additionalProperties: true },
        example,
      },
    },
  });
}
