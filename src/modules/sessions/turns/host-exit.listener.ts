import { Injectable, OnModuleInit } from '@nestjs/common';

import { HostHooks } from 'src/modules/hosts/host-hooks';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';
import type { RunnerExitedParams } from 'src/protocol/host-protocol';

/**
 * What host traffic means for sessions: which runners a host still runs are bound (the others
 * are orphans it stops), and a runner exit the server did not ask for fails the sessions bound
 * to that runner at once (`runner_failed_to_start` with the exit reason, idle ones included;
 * spec/runner-protocol.md F7). The reason is kept for `GET /v1/runners/{id}/status`.
 */
@Injectable()
export class HostExitListener implements OnModuleInit {
  constructor(
    private readonly hostHooks: HostHooks,
    private readonly runners: RunnersService,
    private readonly sessions: SessionsRepository,
    private readonly turns: TurnsService,
  ) {}

  onModuleInit(): void {
    this.hostHooks.register({
      boundRunners: (hostId, runnerIds) => this.sessions.boundRunnersOfHost(hostId, runnerIds),
      onRunnerExited: (hostId, ownerId, params) => this.onRunnerExited(hostId, ownerId, params),
    });
  }

  private async onRunnerExited(
    hostId: string,
    ownerId: string,
    params: RunnerExitedParams,
  ): Promise<void> {
    const reason = String(params.error || 'the runner exited');
    await this.runners.recordExit(params.runner_id, ownerId, reason);
    if (params.stopped) {
      return;
    }
    const bound = (await this.sessions.listByRunner(params.runner_id)).filter(
      (s) => s.hostId === hostId && s.ownerId === ownerId,
    );
    for (const session of bound) {
      await this.turns.fail(session.id, session.currentTurnId, {
        code: 'runner_failed_to_start',
        message: reason,
      });
    }
  }
}
