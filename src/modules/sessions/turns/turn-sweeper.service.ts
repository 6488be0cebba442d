import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { TurnsService } from 'src/modules/sessions/turns/turns.service';

const PRUNE_EVERY_TICKS = 12;

/**
 * Interval jobs any replica may run (spec/runner-protocol.md F8): fail the mid-turn sessions of
 * runners that died and did not come back within the grace (F7), and prune the event log.
 * Claims use SKIP LOCKED, so replicas never handle the same death twice.
 */
@Injectable()
export class TurnSweeperService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Sweeper');
  private timer?: NodeJS.Timeout;
  private ticks = 0;
  private running?: Promise<void>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly log: SessionEventsRepository,
    private readonly runners: RunnersService,
    private readonly sessions: SessionsRepository,
    private readonly turns: TurnsService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => {
        this.running = undefined;
      });
    }, this.config.runners.sweeperIntervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    try {
      await this.failDeadRunners();
      if (++this.ticks % PRUNE_EVERY_TICKS === 0) {
        const pruned = await this.log.prune(this.config.sse.retention);
        if (pruned > 0) {
          this.logger.log(
            `Pruned ${pruned} event log row(s) beyond the last ${this.config.sse.retention} per session`,
          );
        }
      }
    } catch (error) {
      this.logger.error(`Sweep failed: ${(error as Error).message}`, (error as Error).stack);
    }
  }

  /** Idle sessions of a dead runner are left alone: only `runner_online` changes for them. */
  private async failDeadRunners(): Promise<void> {
    for (const { runnerId, epoch } of await this.runners.claimDead()) {
      const busy = await this.sessions.listBusyOnRunner(runnerId);
      for (const session of busy) {
        await this.turns.fail(
          session.id,
          session.currentTurnId,
          {
            code: 'runner_disconnected',
            message: `The runner ${runnerId} disconnected during the turn and did not come back`,
          },
          { ifCurrent: true },
        );
      }
      this.logger.warn(
        `Runner ${runnerId} (epoch ${epoch}) is gone; failed ${busy.length} running session(s)`,
      );
    }
  }
}
