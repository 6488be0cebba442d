import { Injectable, Logger } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { HostsService } from 'src/modules/hosts/hosts.service';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerRpcService } from 'src/modules/runners/runner-rpc.service';
import { RunnersService } from 'src/modules/runners/runners.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionError } from 'src/modules/sessions/sessions.errors';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';

/**
 * How long to wait for a runner to connect: one the host says is alive (spec/runner-protocol.md
 * §11 says 10 s; a runner process starting on a loaded machine takes about that long, so it gets
 * as long as a fresh launch), and one just launched.
 */
const WAIT_BEFORE_RELAUNCH_MS = 30_000;
const WAIT_AFTER_LAUNCH_MS = 30_000;
const POLL_MS = 50;

/** What a caller does when the session is already bound (400 on the hosts route, 409 inline). */
export type AlreadyBound = ErrorCode.InvalidInput | ErrorCode.Conflict;

/**
 * Runners on hosts for sessions (spec/runner-protocol.md F3): mint a binding token, bind its
 * runner id to the session atomically, have the host start the process, and undo both when the
 * launch fails (the binding is rolled back and the host told to stop whatever it started, so no
 * orphan process). Relaunches the runner of a host-bound session whose runner is gone.
 */
@Injectable()
export class HostLaunchService {
  private readonly logger = new Logger('HostLaunch');

  constructor(
    private readonly agents: AgentsService,
    private readonly hosts: HostsService,
    private readonly rpc: RunnerRpcService,
    private readonly runners: RunnersService,
    private readonly sessions: SessionsRepository,
  ) {}

  /** The session owner's host (404 when missing or someone else's). */
  hostFor(ownerId: string, hostId: string): Promise<HostEntity> {
    return this.hosts.findOrFail(ownerId, hostId);
  }

  /**
   * Launches a runner for the session on the host and binds it. `expected` is the runner the
   * session must still be bound to (null: none). Returns the new runner id.
   */
  async launch(
    session: SessionEntity,
    host: HostEntity,
    workspace: string,
    options: { expected: string | null; alreadyBound: AlreadyBound },
  ): Promise<string> {
    const harness = await this.harnessOf(session);
    const { token, runnerId } = await this.runners.mintHostLaunch({
      ownerId: session.ownerId,
      sessionId: session.id,
      hostId: host.hostId,
    });
    const bound = await this.sessions.bindHostRunner(session.id, options.expected, {
      runnerId,
      hostId: host.hostId,
      workspace,
    });
    if (!bound) {
      throw new DomainError(options.alreadyBound, 'session already has a runner bound');
    }
    try {
      await this.hosts.launchRunner(host, {
        binding_token: token,
        workspace,
        session_id: session.id,
        harness,
      });
    } catch (error) {
      await this.sessions.unbindRunner(session.id, runnerId);
      // A launch that timed out may still have started the process: make sure it is gone.
      void this.hosts.stopRunner(host, runnerId);
      this.logger.warn(
        `Launch for ${session.id} on ${host.hostId} failed: ${(error as Error).message}`,
      );
      throw error;
    }
    this.logger.log(`Host ${host.hostId} launched ${runnerId} for session ${session.id}`);
    return runnerId;
  }

  /**
   * A runner for a host-bound session whose runner is not connected: waits a little for one the
   * host says is alive (it may still be starting), else relaunches it and waits for it to
   * connect. Returns the session as now bound; 409 when the host is offline.
   */
  async ensureRunner(session: SessionEntity): Promise<SessionEntity> {
    if (this.rpc.isServing(session) || !session.hostId || !session.workspace) {
      return session;
    }
    const host = await this.hosts.findOrFail(session.ownerId, session.hostId).catch(() => {
      throw SessionError.runnerUnavailable(`The host of session ${session.id} is gone`);
    });
    if (!this.hosts.isOnlineRow(host)) {
      throw new DomainError(ErrorCode.Conflict, 'host is offline');
    }
    if (session.runnerId && (await this.hosts.runnerStatus(host, session.runnerId)) === 'alive') {
      if (await this.waitForRunner(session, WAIT_BEFORE_RELAUNCH_MS)) {
        return session;
      }
      await this.hosts.stopRunner(host, session.runnerId);
    }
    const runnerId = await this.launch(session, host, session.workspace, {
      expected: session.runnerId,
      alreadyBound: ErrorCode.Conflict,
    });
    const relaunched = { ...session, runnerId } as SessionEntity;
    if (!(await this.waitForRunner(relaunched, WAIT_AFTER_LAUNCH_MS))) {
      throw SessionError.runnerUnavailable(
        `The runner launched on host ${host.hostId} did not connect`,
      );
    }
    return relaunched;
  }

  private async waitForRunner(session: SessionEntity, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.rpc.isServing(session)) {
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return this.rpc.isServing(session);
  }

  private async harnessOf(session: SessionEntity): Promise<string> {
    const agent = await this.agents.getById(session.agentId);
    const executor = (agent?.spec as { executor?: { harness?: string } } | undefined)?.executor;
    return executor?.harness ?? 'echo';
  }
}
