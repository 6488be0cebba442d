import { Injectable } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RunnerGatewayService } from 'src/modules/runners/runner-gateway.service';
import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { RunnerRouterService } from 'src/modules/runners/runner-router.service';

/** Whom a call is for: the runner, and the user whose session the call is about. */
export interface RunnerTarget {
  runnerId: string | null;
  ownerId: string;
}

/**
 * Calls a method on a runner wherever its socket is: directly when this replica holds it,
 * otherwise over the bus (`r:{runner}` → holder → `rep:{replica}`, spec/runner-protocol.md §9,
 * `RunnerRouterService`).
 *
 * Every call names the owner of the session it is about, and only a connection of that owner
 * is used: a runner serves only its owner's sessions, so a binding that should never have been
 * made (or a row written by hand) cannot send another user's session to it.
 */
@Injectable()
export class RunnerRpcService {
  constructor(
    private readonly gateway: RunnerGatewayService,
    private readonly router: RunnerRouterService,
  ) {}

  /** The runner is connected (to this replica or another) and owned by the target's owner. */
  isServing(target: RunnerTarget): target is RunnerTarget & { runnerId: string } {
    return (
      this.connectionFor(target) !== undefined ||
      (target.runnerId !== null && this.router.isHeldElsewhere(target.runnerId, target.ownerId))
    );
  }

  /** A turn for the target is about to be started on its connection (see RunnerConnection.noteTurn). */
  noteTurn(target: RunnerTarget, turnId: string): void {
    this.connectionFor(target)?.noteTurn(turnId);
  }

  call<T>(target: RunnerTarget, method: string, params: unknown, timeoutMs: number): Promise<T> {
    const connection = this.connectionFor(target);
    if (!connection && target.runnerId) {
      return this.router.call<T>(target.runnerId, target.ownerId, method, params, timeoutMs);
    }
    if (!connection) {
      return Promise.reject(
        new DomainError(
          ErrorCode.RunnerUnavailable,
          target.runnerId
            ? `Runner ${target.runnerId} is not connected`
            : 'No runner bound for session',
        ),
      );
    }
    return connection.request<T>(method, params, timeoutMs);
  }

  /** A notification to the runner if it is connected here; returns whether it went out. */
  notify(target: RunnerTarget, method: string, params: unknown): boolean {
    const connection = this.connectionFor(target);
    connection?.notify(method, params);
    return connection !== undefined;
  }

  /** The id of the connection a call for the target would use now (undefined: none). */
  connectionId(target: RunnerTarget): string | undefined {
    return this.connectionFor(target)?.connectionId;
  }

  private connectionFor(target: RunnerTarget): RunnerConnection | undefined {
    const connection = target.runnerId ? this.gateway.local(target.runnerId) : undefined;
    return connection?.ownerId === target.ownerId ? connection : undefined;
  }
}
