import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse } from '@nestjs/swagger';

/** One decorator per route: summary and description for /docs (style rule 12). */
export function Endpoint(options: { summary: string; description?: string; deprecated?: boolean }) {
  return applyDecorators(ApiOperation(options));
}

/** A `text/event-stream` response whose frames are upstream's `ServerStreamEvent`s. */
export function SseResponse(description: string) {
  return applyDecorators(
    ApiProduces('text/event-stream'),
    ApiResponse({
      status: 200,
      description,
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    }),
  );
}
