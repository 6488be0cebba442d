import { PolicyFlags } from 'src/protocol/runner-protocol';

/**
 * Longer than any `session.init` / `turn.start` may take to arrive (their RPC timeouts are 30 s
 * and 15 s): flags older than a push received within this window may predate it.
 */
export const POLICY_PUSH_WINDOW_MS = 60_000;

/**
 * The policy flags the server pushed (`session.update`), per session, so flags that travelled
 * with a `session.init` or `turn.start` computed before a policy change cannot undo the push
 * that announced it. Fails closed: within the window those flags can only be raised.
 */
export class PolicyPushes {
  private readonly pushes = new Map<string, { flags: PolicyFlags; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  pushed(sessionId: string, flags: PolicyFlags): void {
    this.pushes.set(sessionId, { flags, at: this.now() });
  }

  /** The flags to hold, given flags the server computed before sending them. */
  resolve(sessionId: string, sent: PolicyFlags): PolicyFlags {
    const push = this.pushes.get(sessionId);
    if (!push) {
      return sent;
    }
    if (this.now() - push.at > POLICY_PUSH_WINDOW_MS) {
      this.pushes.delete(sessionId);
      return sent;
    }
    return {
      tool_call: sent.tool_call || push.flags.tool_call,
      tool_result: sent.tool_result || push.flags.tool_result,
    };
  }

  forget(sessionId: string): void {
    this.pushes.delete(sessionId);
  }
}
