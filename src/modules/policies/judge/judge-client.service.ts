import { Inject, Injectable, Logger } from '@nestjs/common';

import type { AppConfig, PolicyJudgeConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { JudgeAnswer, JudgeRequest } from 'src/modules/policies/engine/judge.types';
import { JudgeCaller } from 'src/modules/policies/judge/judge-memo.util';

/** Longest prompt part sent to the judge (the handlers truncate the payload below this). */
export const JUDGE_MAX_INPUT_CHARS = 32 * 1024;
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_REASON_CHARS = 500;

/**
 * The server's policy judge (spec/policies.md §8.7): one non-streamed `POST
 * {base}/chat/completions` per question with a strict JSON-schema response format
 * `{action | classification, reason}`, under a timeout. It never throws: a failure is an answer with `ok: false`
 * (the handler decides whether that fails closed or open). The API key is sent as a bearer
 * token only; no log line or answer carries it.
 */
@Injectable()
export class JudgeClientService implements JudgeCaller {
  private readonly logger = new Logger('PolicyJudge');
  private readonly config: PolicyJudgeConfig | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.config = config.policies.judge;
  }

  get configured(): boolean {
    return this.config !== null;
  }

  async ask(request: JudgeRequest): Promise<JudgeAnswer> {
    if (!this.config) {
      return { ok: false, error: 'no policy judge is configured' };
    }
    try {
      return await this.call(this.config, request);
    } catch (error) {
      const message =
        (error as Error).name === 'TimeoutError'
          ? `the judge did not answer within ${this.config.timeoutMs} ms`
          : `the judge could not be reached (${(error as Error).name})`;
      this.logger.warn(message);
      return { ok: false, error: message };
    }
  }

  private async call(config: PolicyJudgeConfig, request: JudgeRequest): Promise<JudgeAnswer> {
    const response = await fetch(`${config.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
      },
      body: JSON.stringify({
        model: config.model,
        messages: [
          { role: 'system', content: request.system.slice(0, JUDGE_MAX_INPUT_CHARS) },
          { role: 'user', content: request.user.slice(0, JUDGE_MAX_INPUT_CHARS) },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'policy_judgement', strict: true, schema: answerSchema(request) },
        },
      }),
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      return this.failed(`the judge answered HTTP ${response.status}`);
    }
    if (text.length > MAX_ANSWER_BYTES) {
      return this.failed('the judge answer is too large');
    }
    return parseAnswer(text, request) ?? this.failed('the judge answer is malformed');
  }

  private failed(error: string): JudgeAnswer {
    this.logger.warn(error);
    return { ok: false, error };
  }
}

function answerSchema(request: JudgeRequest): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: [request.field, 'reason'],
    properties: {
      [request.field]: { type: 'string', enum: request.choices },
      reason: { type: 'string' },
    },
  };
}

/** `{<field>, reason}` from a Chat Completions body, the value one of the choices; else null. */
export function parseAnswer(
  body: string,
  request: Pick<JudgeRequest, 'choices' | 'field'>,
): JudgeAnswer | null {
  try {
    const completion = JSON.parse(body) as {
      choices?: { message?: { content?: unknown } }[];
    };
    const content = completion.choices?.[0]?.message?.content;
    if (typeof content !== 'string') {
      return null;
    }
    const parsed = JSON.parse(content) as Record<string, unknown> | null;
    const value = parsed?.[request.field];
    const choice = typeof value === 'string' ? value.toLowerCase() : '';
    if (!request.choices.includes(choice)) {
      return null;
    }
    const reason = typeof parsed?.reason === 'string' ? parsed.reason : '';
    return { ok: true, choice, reason: reason.slice(0, MAX_REASON_CHARS) };
  } catch {
    return null;
  }
}
