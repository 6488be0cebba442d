import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { ApiClient, ApiError, SseFrame } from 'src/cli/api-client';
import { CliCommand, UsageError } from 'src/cli/cli-command';
import { defaultServerUrl, defaultToken } from 'src/cli/cli-env';

interface Session {
  id: string;
  runner_id: string | null;
  agent_name: string | null;
}

interface StreamEvent {
  type: string;
  delta?: string;
  item?: {
    type?: string;
    role?: string;
    name?: string;
    arguments?: string;
    output?: string;
    call_id?: string;
  };
  response?: {
    error?: { code?: string; message?: string } | null;
    incomplete_details?: { reason?: string } | null;
  };
  status?: string;
  error?: { code?: string; message?: string } | null;
}

const TERMINAL = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
  'response.cancelled',
]);
const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

function preview(text: string, max = 400): string {
  const oneLine = text.replace(/\s+$/, '');
  return oneLine.length > max ? `${oneLine.slice(0, max)}… (${oneLine.length} chars)` : oneLine;
}

/** Reads stream frames into a queue the turn loop can await. */
class EventQueue {
  private readonly items: StreamEvent[] = [];
  private waiter?: () => void;
  closed = false;
  failure?: Error;

  push(event: StreamEvent): void {
    this.items.push(event);
    this.waiter?.();
  }

  end(error?: Error): void {
    this.closed = true;
    this.failure = error;
    this.waiter?.();
  }

  async next(): Promise<StreamEvent | null> {
    while (this.items.length === 0) {
      if (this.closed) {
        return null;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    return this.items.shift() as StreamEvent;
  }
}

async function findAgentId(api: ApiClient, name: string): Promise<string> {
  let after: string | undefined;
  for (;;) {
    const page = await api.request<{
      data: { id: string; name: string }[];
      has_more: boolean;
      last_id: string | null;
    }>('GET', `/v1/agents?limit=1000${after ? `&after=${after}` : ''}`);
    const found = page.data.find((a) => a.name === name);
    if (found) {
      return found.id;
    }
    if (!page.has_more || !page.last_id) {
      throw new UsageError(`No agent named '${name}' (see GET /v1/agents)`);
    }
    after = page.last_id;
  }
}

/** A bound runner: the session's own, the one asked for, or the caller's only online runner. */
async function ensureRunner(
  api: ApiClient,
  session: Session,
  requested?: string,
): Promise<Session> {
  if (session.runner_id && !requested) {
    return session;
  }
  let runnerId = requested;
  if (!runnerId) {
    const runners = await api.request<{ data: { runner_id: string; online: boolean }[] }>(
      'GET',
      '/v1/runners',
    );
    const online = runners.data.filter((r) => r.online);
    if (online.length === 0) {
      throw new UsageError(
        'No runner is connected. Start one with `omnigent runner --server <url>` (the local server starts one by default).',
      );
    }
    if (online.length > 1) {
      throw new UsageError(
        `Several runners are connected; pick one with --runner (${online.map((r) => r.runner_id).join(', ')})`,
      );
    }
    runnerId = online[0].runner_id;
  }
  return api.request<Session>('PATCH', `/v1/sessions/${session.id}`, { runner_id: runnerId });
}

/** Prints one turn as it streams; resolves with whether it succeeded. */
async function printTurn(queue: EventQueue): Promise<boolean> {
  let midLine = false;
  const newline = () => {
    if (midLine) {
      out('\n');
      midLine = false;
    }
  };
  for (;;) {
    const event = await queue.next();
    if (!event) {
      newline();
      err(
        `The stream ended before the turn finished${queue.failure ? `: ${queue.failure.message}` : ''}.\n`,
      );
      return false;
    }
    switch (event.type) {
      case 'response.output_text.delta':
        out(event.delta ?? '');
        midLine = !(event.delta ?? '').endsWith('\n');
        break;
      case 'response.output_item.done':
        if (event.item?.type === 'function_call') {
          newline();
          err(`⚙ ${event.item.name}(${preview(event.item.arguments ?? '', 200)})\n`);
        } else if (event.item?.type === 'function_call_output') {
          err(`↳ ${preview(event.item.output ?? '')}\n`);
        }
        break;
      case 'response.retry':
        newline();
        err('… the model provider asked us to retry\n');
        break;
      case 'session.status':
        if (event.status === 'failed') {
          newline();
          err(
            `✗ ${event.error?.code ?? 'failed'}: ${event.error?.message ?? 'the session failed'}\n`,
          );
          return false;
        }
        break;
      default:
        if (TERMINAL.has(event.type)) {
          newline();
          if (event.type === 'response.failed') {
            err(
              `✗ ${event.response?.error?.code ?? 'failed'}: ${event.response?.error?.message ?? ''}\n`,
            );
            return false;
          }
          if (event.type === 'response.incomplete') {
            err(`(stopped: ${event.response?.incomplete_details?.reason ?? 'incomplete'})\n`);
          }
          return true;
        }
    }
  }
}

export const chatCommand: CliCommand = {
  name: 'chat',
  summary: 'Chat with an agent in the terminal (one message, or a prompt loop)',
  usage:
    'omnigent chat [--server URL] [--agent NAME] [--session ID] [--runner ID] [--token T] [MESSAGE]\n\n' +
    '  With MESSAGE: sends it, streams the reply, exits. Without: a prompt loop (Ctrl-D to quit,\n' +
    '  Ctrl-C interrupts a reply). --agent defaults to echo; --session resumes a session.',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        server: { type: 'string' },
        agent: { type: 'string' },
        session: { type: 'string' },
        runner: { type: 'string' },
        token: { type: 'string' },
      },
    });
    const api = new ApiClient(values.server ?? defaultServerUrl(), values.token ?? defaultToken());
    try {
      let session: Session;
      if (values.session) {
        session = await api.request<Session>('GET', `/v1/sessions/${values.session}`);
      } else {
        const agentId = await findAgentId(api, values.agent ?? 'echo');
        session = await api.request<Session>('POST', '/v1/sessions', { agent_id: agentId });
      }
      session = await ensureRunner(api, session, values.runner);
      return await converse(api, session, positionals.join(' ').trim());
    } catch (error) {
      if (error instanceof ApiError) {
        err(`omnigent chat: ${error.message}${error.code ? ` (${error.code})` : ''}\n`);
        return 1;
      }
      throw error;
    }
  },
};

async function converse(api: ApiClient, session: Session, message: string): Promise<number> {
  const abort = new AbortController();
  const queue = new EventQueue();
  let ready: () => void = () => undefined;
  const subscribed = new Promise<void>((resolve) => (ready = resolve));
  const reader = (async () => {
    try {
      for await (const frame of api.stream(`/v1/sessions/${session.id}/stream`, abort.signal)) {
        ready();
        const event = parseFrame(frame);
        if (event) {
          queue.push(event);
        }
      }
      queue.end();
    } catch (error) {
      ready();
      queue.end(abort.signal.aborted ? undefined : (error as Error));
    }
  })();
  await subscribed;
  if (queue.closed && queue.failure) {
    throw queue.failure;
  }
  const send = (text: string) =>
    api.request('POST', `/v1/sessions/${session.id}/events`, {
      type: 'message',
      data: { role: 'user', content: [{ type: 'input_text', text }] },
    });
  const interrupt = () =>
    api
      .request('POST', `/v1/sessions/${session.id}/events`, { type: 'interrupt', data: {} })
      .catch(() => undefined);
  const resume = () => err(`\nResume this session with: omnigent chat --session ${session.id}\n`);
  let code = 0;
  try {
    if (message) {
      await send(message);
      const onSigint = () => void interrupt();
      process.once('SIGINT', onSigint);
      code = (await printTurn(queue)) ? 0 : 1;
      process.off('SIGINT', onSigint);
      resume();
      return code;
    }
    err(
      `Chatting with ${session.agent_name ?? 'the agent'} in session ${session.id}. Ctrl-D quits, Ctrl-C interrupts.\n`,
    );
    const rl = createInterface({
      input: process.stdin,
      output: process.stdout,
      terminal: process.stdin.isTTY,
    });
    rl.setPrompt('> ');
    let turning = false;
    rl.on('SIGINT', () => (turning ? void interrupt() : rl.close()));
    rl.prompt();
    // Iterating buffers lines that arrive during a turn (piped input), unlike question().
    for await (const line of rl) {
      if (line.trim()) {
        turning = true;
        await send(line);
        code = (await printTurn(queue)) ? 0 : 1;
        turning = false;
        if (queue.closed) {
          break;
        }
      }
      rl.prompt();
    }
    rl.close();
    resume();
    return code;
  } finally {
    abort.abort();
    await reader;
  }
}

function parseFrame(frame: SseFrame): StreamEvent | null {
  if (frame.data === '[DONE]') {
    return null;
  }
  try {
    return JSON.parse(frame.data) as StreamEvent;
  } catch {
    return null;
  }
}
