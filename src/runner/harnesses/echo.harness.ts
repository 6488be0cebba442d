import { randomBytes } from 'node:crypto';
import { setImmediate as nextTick, setTimeout as sleep } from 'node:timers/promises';

import { FlatItem } from 'src/protocol/items';
import {
  Harness,
  HarnessError,
  HarnessStepInput,
  HarnessStepResult,
  HarnessToolCall,
} from 'src/runner/harnesses/harness';

// Spacing of `/sleep` deltas: frequent enough that an interrupt lands mid-stream.
const SLEEP_TICK_MS = 100;
// `/stream <n>` upper bound: enough for fan-out benchmarks, small enough that a typo cannot
// produce a multi-megabyte message.
const STREAM_MAX_DELTAS = 100_000;

function blockText(item: FlatItem, blockTypes: string[]): string {
  const content = Array.isArray(item.content) ? item.content : [];
  return content
    .map((block) => {
      const b = block as { type?: unknown; text?: unknown };
      return typeof b.type === 'string' && blockTypes.includes(b.type) && typeof b.text === 'string'
        ? b.text
        : '';
    })
    .join('');
}

function isUserMessage(item: FlatItem | undefined): item is FlatItem {
  return item?.type === 'message' && item.role === 'user';
}

/** Splits by code points so a surrogate pair never straddles two deltas. */
function splitEvenly(text: string, parts: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(parts, chars.length));
  const chunks: string[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor((i * chars.length) / count);
    const end = Math.floor(((i + 1) * chars.length) / count);
    chunks.push(chars.slice(start, end).join(''));
  }
  return chunks.filter((chunk) => chunk !== '');
}

function chunkCount(text: string): number {
  // 3 chunks for short texts, up to 5 for long ones; splitEvenly caps it at the text's length.
  return Math.min(5, Math.max(3, Math.ceil(text.length / 16)));
}

async function streamChunks(chunks: string[], input: HarnessStepInput): Promise<void> {
  for (let i = 0; i < chunks.length; i++) {
    if (i > 0) {
      await nextTick(undefined, { signal: input.signal });
    }
    input.onTextDelta(chunks[i]);
  }
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function historyText(history: FlatItem[]): string {
  return history
    .map((item) => {
      if (item.type === 'message') {
        return blockText(item, ['input_text', 'output_text', 'text']);
      }
      if (item.type === 'function_call') {
        return `${String(item.name)}${String(item.arguments)}`;
      }
      if (item.type === 'function_call_output') {
        return String(item.output);
      }
      return '';
    })
    .join('');
}

/**
 * Deterministic harness without a model (spec/README.md §8): echoes the user's text back in
 * several deltas and understands `/tool <name> <json-args>`, `/sleep <ms>`, `/stream <n>` and
 * `/fail <message>`.
 */
export class EchoHarness implements Harness {
  readonly name = 'echo';

  async step(input: HarnessStepInput): Promise<HarnessStepResult> {
    input.signal.throwIfAborted();
    const model = input.model ?? input.agent.executor.model ?? 'echo';
    const { text, toolCalls } = await this.respond(input);
    return {
      text,
      toolCalls,
      model,
      usage: {
        input_tokens: estimateTokens(historyText(input.history)),
        output_tokens: estimateTokens(text + toolCalls.map((call) => call.arguments).join('')),
      },
    };
  }

  private async respond(
    input: HarnessStepInput,
  ): Promise<{ text: string; toolCalls: HarnessToolCall[] }> {
    const history = input.history;
    const last = history[history.length - 1];
    if (last?.type === 'function_call_output') {
      const text = this.reportToolOutputs(history);
      await streamChunks(splitEvenly(text, chunkCount(text)), input);
      return { text, toolCalls: [] };
    }
    if (!isUserMessage(last)) {
      return { text: '', toolCalls: [] };
    }
    const userText = blockText(last, ['input_text', 'text']);
    const directive = /^\/(tool|sleep|stream|fail)(?:\s+([\s\S]*))?$/.exec(userText.trim());
    if (directive?.[1] === 'tool') {
      return { text: '', toolCalls: [this.toolCall(directive[2] ?? '')] };
    }
    if (directive?.[1] === 'sleep') {
      return { text: await this.sleep(directive[2] ?? '', input), toolCalls: [] };
    }
    if (directive?.[1] === 'stream') {
      return { text: await this.stream(directive[2] ?? '', input), toolCalls: [] };
    }
    if (directive?.[1] === 'fail') {
      throw new HarnessError('echo_failure', directive[2]?.trim() || 'Echo failure requested');
    }
    // Attachments the runner resolved (text files) are echoed after the text.
    const attachments = (Array.isArray(last.content) ? last.content : [])
      .map((block) => blockText({ ...last, content: [block] }, ['input_file']))
      .filter(Boolean);
    const echoed = [userText, ...attachments].filter(Boolean).join('\n');
    await streamChunks(splitEvenly(echoed, chunkCount(echoed)), input);
    return { text: echoed, toolCalls: [] };
  }

  private toolCall(rest: string): HarnessToolCall {
    const match = /^(\S+)\s*([\s\S]*)$/.exec(rest.trim());
    if (!match) {
      throw new HarnessError('invalid_input', 'Usage: /tool <name> <json-args>');
    }
    const args = match[2].trim() || '{}';
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch (error) {
      throw new HarnessError(
        'invalid_input',
        `The arguments of /tool ${match[1]} are not valid JSON: ${(error as Error).message}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new HarnessError(
        'invalid_input',
        `The arguments of /tool ${match[1]} must be a JSON object`,
      );
    }
    return { callId: `call_${randomBytes(12).toString('hex')}`, name: match[1], arguments: args };
  }

  private async sleep(rest: string, input: HarnessStepInput): Promise<string> {
    const ms = Number(rest.trim());
    if (rest.trim() === '' || !Number.isInteger(ms) || ms < 0) {
      throw new HarnessError('invalid_input', 'Usage: /sleep <ms> (a non-negative integer)');
    }
    const text = `Slept ${ms} ms.`;
    const chunks = splitEvenly(text, Math.max(2, Math.round(ms / SLEEP_TICK_MS) + 1));
    // The first delta goes out at once so a client sees the turn streaming; the rest are spread
    // evenly so the last one lands after about `ms` milliseconds.
    const interval = chunks.length > 1 ? ms / (chunks.length - 1) : 0;
    const started = Date.now();
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) {
        const due = started + Math.round(i * interval);
        await sleep(Math.max(0, due - Date.now()), undefined, { signal: input.signal });
      }
      input.onTextDelta(chunks[i]);
    }
    return text;
  }

  /** `/stream <n>`: n deltas as fast as the runner takes them (fan-out benchmarks and tests). */
  private async stream(rest: string, input: HarnessStepInput): Promise<string> {
    const n = Number(rest.trim());
    if (rest.trim() === '' || !Number.isInteger(n) || n < 1 || n > STREAM_MAX_DELTAS) {
      throw new HarnessError(
        'invalid_input',
        `Usage: /stream <n> (an integer from 1 to ${STREAM_MAX_DELTAS})`,
      );
    }
    const chunks = Array.from({ length: n }, (_, i) => `${i + 1}${i + 1 === n ? '' : ' '}`);
    await streamChunks(chunks, input);
    return chunks.join('');
  }

  private reportToolOutputs(history: FlatItem[]): string {
    const outputs: FlatItem[] = [];
    for (let i = history.length - 1; i >= 0 && history[i].type === 'function_call_output'; i--) {
      outputs.unshift(history[i]);
    }
    return outputs
      .map((output) => {
        const call = history.find(
          (item) => item.type === 'function_call' && item.call_id === output.call_id,
        );
        const name = typeof call?.name === 'string' ? call.name : 'unknown';
        return `Tool ${name} returned: ${String(output.output)}`;
      })
      .join('\n');
  }
}
