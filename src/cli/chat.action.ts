import { createInterface, Interface } from 'node:readline';

import type {
  OmnigentClient,
  OmnigentError as OmnigentErrorType,
  Session,
  StreamEvent,
} from '@omnigent-server/client';

import { ChatApprovals } from 'src/cli/chat-approvals';
import type { ChatOptions } from 'src/cli/chat.command';
import { TurnPrinter, TurnStatus, TurnTracker } from 'src/cli/chat-turn';
import { CliError, ExitCode, load, UsageError } from 'src/cli/cli-command';
import { checkServerUrl, defaultServerUrl } from 'src/cli/cli-env';

type ClientModule = typeof import('@omnigent-server/client');

const out = (text: string) => process.stdout.write(text);
const err = (text: string) => process.stderr.write(text);

/** Stream events in arrival order, for the turn loop to await one at a time. */
class EventQueue {
  private readonly items: StreamEvent[] = [];
  private waiter?: () => void;
  closed = false;
  failure?: unknown;
  readonly opened: Promise<void>;
  private markOpened: () => void = () => undefined;

  constructor() {
    this.opened = new Promise((resolve) => (this.markOpened = resolve));
  }

  push(event: StreamEvent): void {
    this.items.push(event);
    this.markOpened();
    this.waiter?.();
  }

  end(failure?: unknown): void {
    this.closed = true;
    this.failure = failure;
    this.markOpened();
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

/** Lines typed at the prompt (or piped in); `next()` is null once stdin ends (Ctrl-D). */
class LineReader {
  private readonly lines: string[] = [];
  private waiter?: () => void;
  closed = false;

  constructor(readonly rl: Interface) {
    rl.on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    rl.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  async next(prompt?: string): Promise<string | null> {
    if (prompt !== undefined && this.lines.length === 0 && !this.closed) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    while (this.lines.length === 0) {
      if (this.closed) {
        return null;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    return this.lines.shift() as string;
  }
}

/** `omnigent chat`: resolves with the exit status. */
export async function runChat(options: ChatOptions, message: string): Promise<number> {
  const serverUrl = checkServerUrl(options.server || defaultServerUrl());
  const clientModule = load<ClientModule>('@omnigent-server/client');
  const client = new clientModule.OmnigentClient({ baseUrl: serverUrl, token: options.token });
  try {
    const { session, fresh } = await openSession(clientModule, client, options);
    return await converse(client, session, fresh, message);
  } catch (error) {
    throw explain(clientModule, error, serverUrl);
  }
}

/** One clear line, and the exit code, for what went wrong talking to the server. */
function explain(clientModule: ClientModule, error: unknown, serverUrl: string): unknown {
  if (!(error instanceof clientModule.OmnigentError)) {
    return error;
  }
  const e = error as OmnigentErrorType;
  if (e.unreachable) {
    return new CliError(
      `${e.message}. Is the server running? Point --server (or OMNIGENT_SERVER_URL) at it; ` +
        `\`npm start\` in the checkout listens on http://127.0.0.1:6767.`,
      ExitCode.Unreachable,
    );
  }
  if (e.status === 401 || e.status === 403) {
    return new CliError(
      `${serverUrl} refused the credentials (${e.status} ${e.code}: ${e.message}); ` +
        'pass a token with --token or OMNIGENT_TOKEN (`omnigent token --sub USER` mints one).',
      ExitCode.Unreachable,
    );
  }
  if (e.code === 'invalid_url') {
    return new UsageError(e.message);
  }
  return new CliError(`${e.message} (${e.status ? `${e.status} ` : ''}${e.code})`);
}

async function openSession(
  clientModule: ClientModule,
  client: OmnigentClient,
  options: ChatOptions,
): Promise<{ session: Session; fresh: boolean }> {
  if (options.session) {
    let session: Session;
    try {
      session = await client.sessions.get(options.session);
    } catch (error) {
      if (error instanceof clientModule.OmnigentError && error.status === 404) {
        throw new UsageError(`--session ${options.session}: no such session`);
      }
      throw error;
    }
    const runnerId = options.runner ?? (session.runner_id ? undefined : await pickRunner(client));
    if (runnerId && runnerId !== session.runner_id) {
      session = await client.sessions.update(session.id, { runner_id: runnerId });
    }
    return { session, fresh: false };
  }
  let agentId: string;
  try {
    agentId = (await client.agents.getByName(options.agent)).id;
  } catch (error) {
    if (error instanceof clientModule.OmnigentError && error.status === 404) {
      throw new UsageError(`--agent: ${error.message}`);
    }
    throw error;
  }
  // Decide the runner before creating anything, so a question never leaves an orphan session.
  const runnerId = options.runner ?? (await pickRunner(client));
  let session = await client.sessions.create({ agent_id: agentId });
  if (session.runner_id !== runnerId) {
    session = await client.sessions.update(session.id, { runner_id: runnerId });
  }
  return { session, fresh: true };
}

/** The caller's only online runner; more than one is a question for `--runner`. */
async function pickRunner(client: OmnigentClient): Promise<string> {
  const online = (await client.runners.list()).filter((runner) => runner.online);
  if (online.length === 0) {
    throw new CliError(
      'No runner is connected. Start one with `omnigent runner --server <url>` (a local server ' +
        'starts one by default).',
    );
  }
  if (online.length > 1) {
    throw new UsageError(
      `Several runners are connected; pick one with --runner: ${online.map((r) => r.runner_id).join(', ')}`,
    );
  }
  return online[0].runner_id;
}

async function converse(
  client: OmnigentClient,
  session: Session,
  fresh: boolean,
  message: string,
): Promise<number> {
  const queue = new EventQueue();
  // A new session is replayed from its start ('0'), so nothing between creating it and the
  // first frame can be missed; an existing one starts at the live tail.
  const stream = client.sessions.stream(session.id, {
    lastEventId: fresh ? '0' : undefined,
    onReconnect: ({ attempt }) =>
      err(`\n… the stream dropped; reconnecting (attempt ${attempt})\n`),
  });
  const pump = (async () => {
    try {
      for await (const event of stream) {
        queue.push(event);
      }
      queue.end();
    } catch (error) {
      queue.end(error);
    }
  })();
  await queue.opened;
  if (queue.failure) {
    throw queue.failure;
  }
  const interactive = message === '';
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY === true,
  });
  const lines = new LineReader(rl);
  const approvals = new ChatApprovals(
    client,
    session.id,
    async (question) => {
      if (!interactive && !process.stdin.isTTY) {
        return null;
      }
      const answer = await lines.next(question);
      return answer === null ? null : /^y(es)?$/i.test(answer.trim());
    },
    err,
  );
  const turn = { running: false, interrupted: false };
  let quit = false;
  const onInterrupt = () => {
    if (turn.running && !turn.interrupted) {
      turn.interrupted = true;
      err('\n(interrupting; Ctrl-C again quits)\n');
      client.sessions.interrupt(session.id).catch(() => undefined);
      return;
    }
    quit = true;
    stream.close();
    rl.close();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  const resumeHint = () =>
    err(`\nResume this session with: omnigent chat --session ${session.id}\n`);
  try {
    if (!interactive) {
      const status = await runTurn(client, session.id, message, queue, approvals, turn);
      resumeHint();
      if (queue.failure !== undefined && !quit) {
        throw queue.failure;
      }
      if (quit || (status === 'incomplete' && turn.interrupted)) {
        return ExitCode.Interrupted;
      }
      return status === 'completed' ? ExitCode.Ok : ExitCode.Failure;
    }
    err(
      `Chatting with ${session.agent_name ?? 'the agent'} in session ${session.id}. ` +
        'Ctrl-D quits, Ctrl-C interrupts.\n',
    );
    for (;;) {
      const line = await lines.next('> ');
      if (line === null) {
        break;
      }
      if (!line.trim()) {
        continue;
      }
      await runTurn(client, session.id, line, queue, approvals, turn);
      if (quit || queue.closed) {
        break;
      }
    }
    resumeHint();
    if (quit) {
      return ExitCode.Interrupted;
    }
    if (queue.closed && queue.failure) {
      throw queue.failure;
    }
    return ExitCode.Ok;
  } finally {
    process.off('SIGINT', onInterrupt);
    rl.close();
    stream.close();
    await pump;
  }
}

/** Sends one message and prints ITS turn until that turn ends. */
async function runTurn(
  client: OmnigentClient,
  sessionId: string,
  text: string,
  queue: EventQueue,
  approvals: ChatApprovals,
  turn: { running: boolean; interrupted: boolean },
): Promise<TurnStatus> {
  const printer = new TurnPrinter(out, err);
  turn.running = true;
  turn.interrupted = false;
  try {
    const ack = (await client.sessions.send(sessionId, text)) as {
      item_id?: string;
      denied?: boolean;
      reason?: string;
    };
    if (ack.denied) {
      err(`⛔ the message was denied by policy${ack.reason ? `: ${ack.reason}` : ''}\n`);
      return 'failed';
    }
    const tracker = new TurnTracker(ack.item_id);
    for (;;) {
      const event = await queue.next();
      if (!event) {
        printer.finish();
        if (queue.failure === undefined && !turn.interrupted) {
          err('The stream ended before the turn finished.\n');
        }
        return 'incomplete';
      }
      // Prompts are answered whichever turn they belong to: a message held for approval has
      // no turn yet, and the approval is what starts it.
      if (event.type === 'response.elicitation_resolved') {
        approvals.resolved(event.elicitation_id);
        continue;
      }
      if (event.type === 'response.elicitation_request') {
        printer.finish();
        await approvals.handle(event);
        continue;
      }
      const step = tracker.accept(event);
      if (step.kind === 'ignore') {
        continue;
      }
      printer.print(event);
      if (step.kind === 'done') {
        printer.finish();
        return step.status;
      }
    }
  } finally {
    turn.running = false;
  }
}
