import { Injectable } from '@nestjs/common';

import { responseObject } from 'src/protocol/stream-events';
import { EventAckResponseDto } from 'src/modules/sessions/dto/session-response.dto';
import { isBusy, SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsService } from 'src/modules/sessions/stream/session-events.service';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import { nowSeconds } from 'src/modules/sessions/turns/turn-input.util';

/**
 * The interrupt (and stop) of a session's turn, and the cascade to its running sub-agents, on
 * behalf of TurnsService (the `interrupt` and `stop_session` events). The cascade interrupts
 * each child exactly as its parent, so the two live together.
 */
@Injectable()
export class TurnInterruptService {
  constructor(
    private readonly policyHooks: TurnPolicyHooks,
    private readonly runnerLink: RunnerLinkService,
    private readonly sessions: SessionsRepository,
    private readonly stream: SessionEventsService,
  ) {}

  /**
   * Interrupt (and stop): announce it, fence the turn's trailing deltas, ask the runner to cancel.
   * If the runner cannot confirm, the turn ends here so the session never stays "running"
   * (spec/runner-protocol.md F6).
   */
  async interrupt(
    session: SessionEntity,
    reason: 'user_interrupt' | 'stop',
  ): Promise<EventAckResponseDto> {
    const turnId =
      (await this.stream.locked(session.id, async (s) => {
        const current = s.row.currentTurnId;
        s.patch({ cancelRequestedTurnId: current });
        s.emit('session.interrupted', {
          data: { requested_at: nowSeconds(), response_id: current },
        });
        return current;
      })) ?? null;
    // Its pending approvals are withdrawn first (the runner is not told: it is cancelling), so
    // their `response.elicitation_resolved` is on the stream before the runner's
    // `response.incomplete` and `idle`, not in a race with them. Its running sub-agents' too:
    // the runner ends their turns with this one, before they are interrupted below.
    await this.withdrawApprovals(session.id, turnId);
    const cancelled = await this.runnerLink.cancelTurn(session, {
      session_id: session.id,
      turn_id: turnId,
      reason,
    });
    if (reason === 'stop') {
      this.runnerLink.closed(session, 'stopped');
    }
    if (!cancelled) {
      await this.finishInterrupted(session.id, turnId);
    }
    // Its running sub-agents stop with it (their pending approvals withdrawn with their turns).
    for (const child of await this.sessions.listBusyChildren(session.id)) {
      await this.interrupt(child, 'user_interrupt');
    }
    return { queued: false };
  }

  /** The pending approvals of a turn and of its running sub-agents' turns, withdrawn. */
  private async withdrawApprovals(sessionId: string, turnId: string | null): Promise<void> {
    const gate = this.policyHooks.get();
    if (!gate) {
      return;
    }
    await gate.turnEnded(sessionId, turnId);
    for (const child of await this.sessions.listBusyChildren(sessionId)) {
      await this.withdrawApprovals(child.id, child.currentTurnId);
    }
  }

  /** Ends a turn the runner could not cancel: `response.incomplete` + `idle`, only if still busy. */
  private async finishInterrupted(sessionId: string, turnId: string | null): Promise<void> {
    await this.stream.locked(sessionId, async (s) => {
      if (!isBusy(s.row.liveStatus)) {
        return;
      }
      if (turnId && (await s.claimTerminal(turnId, 'response.incomplete'))) {
        s.emit('response.incomplete', {
          response: responseObject({
            id: turnId,
            status: 'incomplete',
            completed_at: nowSeconds(),
            incomplete_details: { reason: 'user_interrupt' },
          }),
        });
      }
      s.patch({ liveStatus: 'idle', currentTurnId: null });
      s.emit('session.status', { status: 'idle', response_id: turnId });
    });
  }
}
