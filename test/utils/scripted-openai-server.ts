import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

/** One streamed completion: text (split into chunks unless `chunks` is given) and/or tool calls. */
export interface ScriptedCompletion {
  text?: string;
  /** Exact `delta.content` pieces; wins over `text`. */
  chunks?: string[];
  toolCalls?: { id: string; name: string; arguments: string }[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Pause before each SSE chunk, e.g. to interrupt a turn mid-stream. Default 0. */
  delayMs?: number;
}

/** A non-200 answer, e.g. `{ status: 429, headers: { 'retry-after': '0' } }`. */
export interface ScriptedError {
  status: number;
  body?: object;
  headers?: Record<string, string>;
}

export type ScriptedResponse = ScriptedCompletion | ScriptedError;

export interface ScriptedOpenAi {
  /** Base URL to use as `OPENAI_BASE_URL` / `executor.auth.base_url`; ends in `/v1`. */
  url: string;
  /** Parsed JSON body of every `POST /v1/chat/completions`, in arrival order. */
  requests: Record<string, unknown>[];
  /** The `Authorization` header of each request, parallel to `requests`. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

function splitText(text: string): string[] {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) {
    chunks.push(text.slice(i, i + size));
  }
  return chunks;
}

export function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: object, headers = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

async function streamCompletion(
  response: ServerResponse,
  scripted: ScriptedCompletion,
  model: string,
): Promise<void> {
  const id = `chatcmpl-scripted-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: unknown[], extra: object = {}): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`;
  const frames: string[] = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  ];
  for (const content of scripted.chunks ?? splitText(scripted.text ?? '')) {
    frames.push(chunk([{ index: 0, delta: { content }, finish_reason: null }]));
  }
  (scripted.toolCalls ?? []).forEach((call, index) => {
    // Like the real API: id and name first, then the arguments in fragments.
    const half = Math.ceil(call.arguments.length / 2);
    const fragments = [call.arguments.slice(0, half), call.arguments.slice(half)];
    frames.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ]),
    );
    for (const fragment of fragments.filter(Boolean)) {
      frames.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: fragment } }] },
            finish_reason: null,
          },
        ]),
      );
    }
  });
  const finish = scripted.toolCalls?.length ? 'tool_calls' : 'stop';
  frames.push(chunk([{ index: 0, delta: {}, finish_reason: finish }]));
  const usage = scripted.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
  frames.push(
    chunk([], {
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    }),
  );
  frames.push('data: [DONE]\n\n');

  response.writeHead(200, {
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'content-type': 'text/event-stream',
  });
  for (const frame of frames) {
    if (scripted.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
    }
    if (response.destroyed) {
      return;
    }
    response.write(frame);
  }
  response.end();
}

/**
 * A minimal OpenAI-compatible Chat Completions server for tests (127.0.0.1, random port). Each
 * `POST /v1/chat/completions` consumes the next entry of `script` (entries pushed onto the same
 * array later are used too); when the script runs out it answers 400 so the test fails fast
 * instead of retrying.
 */
export async function startScriptedOpenAi(script: ScriptedResponse[]): Promise<ScriptedOpenAi> {
  const requests: Record<string, unknown>[] = [];
  const authorizations: (string | undefined)[] = [];
  let next = 0;

  const server = createServer((request, response) => {
    void (async () => {
      if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/chat/completions') {
        sendJson(response, 404, {
          error: { message: `No route for ${request.method} ${request.url}` },
        });
        return;
      }
      const raw = await readBody(request);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        sendJson(response, 400, { error: { message: 'Request body is not JSON' } });
        return;
      }
      requests.push(body);
      authorizations.push(request.headers.authorization);
      const scripted = script[next++];
      if (!scripted) {
        sendJson(response, 400, {
          error: { message: `scripted OpenAI server: no response scripted for request #${next}` },
        });
        return;
      }
      if ('status' in scripted) {
        sendJson(
          response,
          scripted.status,
          scripted.body ?? { error: { message: `Scripted HTTP ${scripted.status}` } },
          scripted.headers,
        );
        return;
      }
      await streamCompletion(response, scripted, String(body.model ?? 'scripted-model'));
    })().catch(() => response.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
