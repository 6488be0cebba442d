import { FlatItem } from 'src/protocol/items';
import { ToolDefinition } from 'src/runner/tools/tool';

/** Agent spec fields a harness reads (spec/agent-spec.md). */
export interface HarnessAgent {
  name: string;
  /** Resolved instructions (`instructions` wins over `prompt`), or null. */
  instructions: string | null;
  executor: {
    harness: string;
    model?: string;
    auth?: { type?: string; api_key?: string; base_url?: string };
  };
  params?: Record<string, unknown>;
}

export interface HarnessToolCall {
  callId: string;
  name: string;
  /** JSON text of the arguments, as the model produced it. */
  arguments: string;
}

export interface HarnessRetry {
  attempt: number;
  maxAttempts: number;
  delaySeconds: number;
  error: { code: string; message: string };
}

export interface HarnessStepInput {
  agent: HarnessAgent;
  /** Model to use (session override, else the spec's executor.model). */
  model: string | null;
  /** The session's items so far, oldest first, including this turn's user message and outputs. */
  history: FlatItem[];
  tools: ToolDefinition[];
  signal: AbortSignal;
  /** Environment used to resolve `${NAME}` references in the spec (the runner's own env). */
  env: Record<string, string | undefined>;
  onTextDelta(delta: string): void;
  onRetry?(retry: HarnessRetry): void;
}

export interface HarnessStepResult {
  /** The complete assistant text of this step ('' when the step only calls tools). */
  text: string;
  toolCalls: HarnessToolCall[];
  /** The model that answered (for items and usage). */
  model: string;
  usage?: { input_tokens: number; output_tokens: number };
}

/** A failure that ends the turn with `response.failed` carrying this code and message. */
export class HarnessError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HarnessError';
  }
}

/**
 * One model call: given the conversation so far, stream text and return the step's complete text
 * and tool calls. The turn loop (not the harness) runs tools and calls `step` again.
 */
export interface Harness {
  readonly name: string;
  step(input: HarnessStepInput): Promise<HarnessStepResult>;
}
