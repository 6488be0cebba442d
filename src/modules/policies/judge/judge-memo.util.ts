import { createHash, randomBytes } from 'node:crypto';

import { JudgeAnswer, JudgeLookup, JudgeRequest } from 'src/modules/policies/engine/judge.types';

/** Something that asks the judge one question (JudgeClientService, or a fake in tests). */
export interface JudgeCaller {
  ask(request: JudgeRequest): Promise<JudgeAnswer>;
}

/**
 * The judge answers of one evaluation. `lookup` records the questions it cannot answer yet;
 * `resolvePending` asks them all at once (in parallel) so the engine can run again.
 */
export class JudgeMemo implements JudgeLookup {
  readonly nonce = randomBytes(12).toString('hex');
  private readonly answers = new Map<string, JudgeAnswer>();
  private readonly pending = new Map<string, JudgeRequest>();

  constructor(private readonly caller: JudgeCaller) {}

  lookup(request: JudgeRequest): JudgeAnswer | undefined {
    const key = requestKey(request);
    const answer = this.answers.get(key);
    if (!answer) {
      this.pending.set(key, request);
    }
    return answer;
  }

  hasPending(): boolean {
    return this.pending.size > 0;
  }

  async resolvePending(): Promise<void> {
    const batch = [...this.pending];
    this.pending.clear();
    await Promise.all(
      batch.map(async ([key, request]) => {
        this.answers.set(key, await this.caller.ask(request));
      }),
    );
  }
}

/**
 * Runs the (synchronous) engine until the judge has answered every question it asks: each round
 * asks all open questions at once, so `rounds` (the number of judged policies) suffices. Still
 * open after the last round: the policy's pending error stands (a DENY).
 */
export async function settleJudged<T>(
  run: () => T,
  memo: JudgeMemo | undefined,
  rounds: number,
): Promise<T> {
  for (let round = 0; ; round++) {
    const result = run();
    if (!memo?.hasPending() || round >= rounds) {
      return result;
    }
    await memo.resolvePending();
  }
}

function requestKey(request: JudgeRequest): string {
  return createHash('sha256')
    .update(JSON.stringify([request.field, request.choices, request.system, request.user]))
    .digest('hex');
}
