import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * The SSE messages of a response body, in order, as they arrive; ends with the body. Leaving
 * the iteration early cancels the body (closes the connection).
 */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => pending.push(message) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      yield* pending.splice(0);
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
