import { AppConfig } from 'src/config/app-config';
import { JudgeAnswer, JudgeRequest } from 'src/modules/policies/engine/judge.types';
import { JudgeMemo } from 'src/modules/policies/judge/judge-memo.util';
import { PolicyRegistryService } from 'src/modules/policies/policy-registry.service';

/** A registry of a server with a policy judge (the LLM-judged handlers are in it). */
export function judgedRegistry(): PolicyRegistryService {
  const judge = { model: 'judge', baseUrl: 'http://judge.invalid/v1', timeoutMs: 1000 };
  return new PolicyRegistryService({ policies: { judge } } as AppConfig);
}

/**
 * A fake judge answering from a queue (then failing), over a real JudgeMemo; `asked` records
 * every question it was asked.
 */
export function fakeJudge(...answers: JudgeAnswer[]): { asked: JudgeRequest[]; memo: JudgeMemo } {
  const asked: JudgeRequest[] = [];
  const memo = new JudgeMemo({
    ask: (request) => {
      asked.push(request);
      return Promise.resolve(answers.shift() ?? { ok: false, error: 'judge down' });
    },
  });
  return { asked, memo };
}
