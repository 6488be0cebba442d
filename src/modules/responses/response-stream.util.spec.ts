import { MessageEvent } from '@nestjs/common';
import { lastValueFrom, of, Subject, toArray } from 'rxjs';

import {
  endedFrames,
  responseFrames,
  sseResponse,
  sseText,
} from 'src/modules/responses/response-stream.util';

const frame = (type: string, id: string, extra: Record<string, unknown> = {}): MessageEvent => ({
  type,
  id,
  data: JSON.stringify({ type, ...extra }),
});
const lifecycle = (type: string, id: string, responseId: string) =>
  frame(type, id, { response: { id: responseId } });

describe('responseFrames', () => {
  it("should pass one response's events from its start to its end, then [DONE]", async () => {
    const frames = [
      frame('session.heartbeat', '0'),
      frame('session.status', '1', { status: 'running' }),
      frame('response.output_text.delta', '1', { delta: 'other turn' }),
      lifecycle('response.completed', '2', 'resp_other'),
      lifecycle('response.created', '3', 'resp_mine'),
      frame('response.output_text.delta', '3', { delta: 'mine' }),
      frame('session.input.consumed', '4'),
      lifecycle('response.completed', '5', 'resp_mine'),
      frame('response.output_text.delta', '5', { delta: 'after the end' }),
    ];
    const out = await lastValueFrom(responseFrames(of(...frames), 'resp_mine').pipe(toArray()));
    expect(out.map((f) => f.type ?? f.data)).toEqual([
      'session.heartbeat',
      'response.created',
      'response.output_text.delta',
      'response.completed',
      '[DONE]',
    ]);
    expect(out.at(-1)).toEqual({ data: '[DONE]', id: '5' });
  });

  it('should end on its terminal event even when it never started (a refused turn)', async () => {
    const out = await lastValueFrom(
      responseFrames(of(lifecycle('response.failed', '7', 'resp_mine')), 'resp_mine').pipe(
        toArray(),
      ),
    );
    expect(out.map((f) => f.type ?? f.data)).toEqual(['response.failed', '[DONE]']);
  });

  it('should pass events at once when started, after the prefix frames', async () => {
    const prefix = lifecycle('response.in_progress', '0', 'resp_mine');
    const out = await lastValueFrom(
      responseFrames(
        of(frame('response.output_text.delta', '3', { delta: 'x' }), {
          data: '[DONE]',
          id: '3',
        }),
        'resp_mine',
        { started: true, prefix: [prefix] },
      ).pipe(toArray()),
    );
    expect(out.map((f) => f.type ?? f.data)).toEqual([
      'response.in_progress',
      'response.output_text.delta',
      '[DONE]',
    ]);
  });

  it('should leave the session stream when unsubscribed', () => {
    const session$ = new Subject<MessageEvent>();
    const subscription = responseFrames(session$, 'resp_mine').subscribe();
    expect(session$.observed).toBe(true);
    subscription.unsubscribe();
    expect(session$.observed).toBe(false);
  });
});

describe('sse framing', () => {
  it('should write event, id and one data line per frame', () => {
    expect(sseText(frame('response.created', '4'))).toBe(
      'event: response.created\nid: 4\ndata: {"type":"response.created"}\n\n',
    );
    expect(sseText({ data: '[DONE]', id: '4' })).toBe('id: 4\ndata: [DONE]\n\n');
  });

  it('should stream the frames as a text/event-stream Response', async () => {
    const response = sseResponse(endedFrames({ type: 'response.completed' }), 1024);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(
      'event: response.completed\nid: 0\ndata: {"type":"response.completed"}\n\nid: 0\ndata: [DONE]\n\n',
    );
  });

  it('should unsubscribe when the reader cancels', async () => {
    const session$ = new Subject<MessageEvent>();
    const response = sseResponse(session$, 1024);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    session$.next(frame('session.heartbeat', '0'));
    await reader.read();
    expect(session$.observed).toBe(true);
    await reader.cancel();
    expect(session$.observed).toBe(false);
  });
});
