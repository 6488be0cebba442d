/**
 * The policy judge as handlers see it (spec/policies.md §8.7): an LLM that answers one of a
 * closed set of values with a reason. Evaluators stay synchronous and pure: during an evaluation
 * they read the answers known so far; the evaluation service asks the judge for the questions
 * still open and runs the engine again.
 */
export interface JudgeRequest {
  /** The answer's field: `action` (allow/deny/ask) or `classification` (the classifiers). */
  field: 'action' | 'classification';
  /** The closed set the judge must answer from (the strict JSON schema's enum). */
  choices: readonly string[];
  /** Trusted instructions: the framework envelope and the policy author's text. */
  system: string;
  /** The event, its untrusted parts fenced by the evaluation's nonce markers. */
  user: string;
}

/** A judge's answer, or why there is none (HTTP error, timeout, malformed output). */
export type JudgeAnswer =
  { ok: true; choice: string; reason: string } | { ok: false; error: string };

/** What an evaluator sees of the judge during one evaluation. */
export interface JudgeLookup {
  /** Random per evaluation: fences untrusted content (`<<UNTRUSTED-{nonce}>>`). */
  readonly nonce: string;
  /** The answer to `request`, or undefined while it is still to be asked. */
  lookup(request: JudgeRequest): JudgeAnswer | undefined;
}

/** Thrown by an evaluator whose judge answer is not known yet; never the final verdict. */
export class JudgePendingError extends Error {
  constructor() {
    super('the policy judge has not answered yet');
  }
}
