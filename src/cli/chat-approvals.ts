import type { ElicitationRequestEvent, OmnigentClient } from '@omnigent-server/client';

/** Asks the person at the terminal a yes/no question; null when nobody can answer (no TTY, EOF). */
export type AskYesNo = (question: string) => Promise<boolean | null>;

/**
 * The chat's approval seam: a `response.elicitation_request` (a policy said ASK, or a tool wants
 * input) is shown, answered y/n, and resolved through
 * `POST /v1/sessions/{id}/elicitations/{eid}/resolve` (spec/api-reference.md §3.1). Prompts this
 * chat already answered, or that were resolved elsewhere, are not asked twice.
 */
export class ChatApprovals {
  private readonly settled = new Set<string>();

  constructor(
    private readonly client: OmnigentClient,
    private readonly sessionId: string,
    private readonly ask: AskYesNo,
    private readonly err: (text: string) => void,
  ) {}

  /** Marks a prompt as answered elsewhere (`response.elicitation_resolved`). */
  resolved(elicitationId: string): void {
    this.settled.add(elicitationId);
  }

  async handle(event: ElicitationRequestEvent): Promise<void> {
    if (this.settled.has(event.elicitation_id)) {
      return;
    }
    this.settled.add(event.elicitation_id);
    const { params } = event;
    const who = params.policy_name ? ` (policy ${params.policy_name})` : '';
    this.err(`? approval needed${who}: ${params.message}\n`);
    if (params.content_preview) {
      this.err(`  ${params.content_preview}\n`);
    }
    const answer = await this.ask('  allow? [y/N] ');
    if (answer === null) {
      this.err('  no terminal to answer on: declined\n');
    }
    const action = answer ? 'accept' : 'decline';
    try {
      await this.client.sessions.resolveElicitation(this.sessionId, event.elicitation_id, {
        action,
      });
      this.err(`  ${action === 'accept' ? 'allowed' : 'declined'}\n`);
    } catch (error) {
      this.err(`  could not answer the prompt: ${(error as Error).message}\n`);
    }
  }
}
