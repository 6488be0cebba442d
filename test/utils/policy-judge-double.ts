import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';

import { readBody } from 'test/utils/scripted-openai-server';

/**
 * One scripted judge answer: the JSON the model "writes" (`content`, sent as the message
 * content), a raw content string, or an HTTP error; `delayMs` holds the answer back.
 */
export type JudgeScript =
  | { content: Record<string, unknown>; delayMs?: number }
  | { raw: string; delayMs?: number }
  | { status: number; delayMs?: number };

export interface PolicyJudgeDouble {
  /** OMNIGENT_POLICY_JUDGE_BASE_URL (ends in `/v1`). */
  url: string;
  /** Parsed bodies of every `POST /v1/chat/completions`, in arrival order. */
  requests: Record<string, unknown>[];
  /** The `Authorization` header of each request. */
  authorizations: (string | undefined)[];
  /** Answers for the next requests, in order; when empty, `fallback` answers. */
  script: JudgeScript[];
  fallback: JudgeScript;
  close(): Promise<void>;
}

/** A non-streaming OpenAI-compatible Chat Completions endpoint playing the policy judge. */
export async function startPolicyJudgeDouble(): Promise<PolicyJudgeDouble> {
  const double: Omit<PolicyJudgeDouble, 'url' | 'close'> = {
    requests: [],
    authorizations: [],
    script: [],
    fallback: { content: { action: 'allow', reason: 'fine' } },
  };
  const server = createServer((request, response) => {
    void readBody(request).then(async (body) => {
      double.requests.push(JSON.parse(body) as Record<string, unknown>);
      double.authorizations.push(request.headers.authorization);
      const next = double.script.shift() ?? double.fallback;
      if (next.delayMs) {
        await new Promise((resolve) => setTimeout(resolve, next.delayMs));
      }
      if ('status' in next) {
        response.writeHead(next.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { message: 'scripted failure' } }));
        return;
      }
      const content = 'raw' in next ? next.raw : JSON.stringify(next.content);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'chatcmpl-judge',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(double, {
    url: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
