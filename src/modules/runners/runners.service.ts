import { randomBytes, timingSafeEqual } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { RUNNER_TOKEN_AUDIENCE } from 'src/common/auth/jwt-verifier.service';
import { TokenSigner } from 'src/common/auth/token-signer';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { isRunnerId } from 'src/common/ids/ids';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  RunnerListResponseDto,
  RunnerStatusResponseDto,
  RunnerTokenResponseDto,
  toRunnerSummary,
} from 'src/modules/runners/dto/runner-response.dto';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnersRepository } from 'src/modules/runners/runners.repository';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';
import { runnerIdForBindingToken, sha256hex, Timeouts } from 'src/protocol/runner-protocol';

const RUNNER_TOKEN_TTL_S = 1800;
/** A host-launched runner must connect with its binding token within this long. */
const HOST_LAUNCH_TTL_MS = 24 * 3600_000;

@Injectable()
export class RunnersService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly runners: RunnersRepository,
    private readonly signer: TokenSigner,
  ) {}

  private get ttlMs(): number {
    return this.config.runners.livenessTtlMs;
  }

  isOnlineRow(row: RunnerConnectionEntity | null): boolean {
    return Boolean(
      row?.connected && row.lastSeenAt && Date.now() - row.lastSeenAt.getTime() < this.ttlMs,
    );
  }

  async list(auth: AuthPrincipal): Promise<RunnerListResponseDto> {
    const rows = await this.runners.listOnline(auth.userId, this.ttlMs);
    return { data: rows.map(toRunnerSummary) };
  }

  /** Another user's runner reads as offline: no enumeration (spec/auth.md §4). */
  async status(auth: AuthPrincipal, runnerId: string): Promise<RunnerStatusResponseDto> {
    const row = await this.runners.getById(runnerId);
    const visible = row && (row.ownerId === auth.userId || auth.isAdmin);
    const online = Boolean(visible && this.isOnlineRow(row));
    return {
      runner_id: runnerId,
      online,
      ...(visible && !online && row.exitError ? { error: row.exitError } : {}),
    };
  }

  /**
   * Whether `ownerId` may open a channel for `runnerId` (checked on the WebSocket upgrade, before
   * any hello): the id is bound to its first owner (409 for anyone else, admins included), and a
   * user has at most `config.quotas.runnersPerUser` runners online or connecting (429).
   */
  async admit(runnerId: string, ownerId: string): Promise<void> {
    const max = this.config.quotas.runnersPerUser;
    const outcome = await this.runners.admit(runnerId, ownerId, {
      maxRunners: max,
      ttlMs: this.ttlMs,
      handshakeMs: Timeouts.helloMs,
    });
    if (outcome === 'taken') {
      throw new DomainError(ErrorCode.Conflict, 'This runner id is registered to another user');
    }
    if (outcome === 'quota') {
      throw new DomainError(
        ErrorCode.QuotaExceeded,
        `Runner quota reached: a user may have at most ${max} runners connected`,
      );
    }
  }

  /** Trades a binding token for a short-lived runner bearer (spec/auth.md §5.4). */
  async mintToken(
    runnerId: string,
    bindingToken: string | undefined,
  ): Promise<RunnerTokenResponseDto> {
    if (!this.signer.canSign()) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'This server cannot mint tokens (auth mode none or no JWT secret)',
      );
    }
    const launch = bindingToken ? await this.launchFor(runnerId, bindingToken) : null;
    if (!launch) {
      throw new DomainError(ErrorCode.Unauthorized, 'unauthenticated');
    }
    const { token, expiresAt } = this.signer.mint({
      sub: launch.ownerId,
      ttlSeconds: RUNNER_TOKEN_TTL_S,
      audience: RUNNER_TOKEN_AUDIENCE,
      extra: {
        typ: 'runner',
        runner_id: runnerId,
        sid: launch.sessionId ? [launch.sessionId] : [],
      },
    });
    return { token, expires_at: expiresAt };
  }

  /**
   * The live launch record a binding token proves (spec/auth.md §5.4): the token must derive the
   * runner id and match the stored hash (compared in constant time), and the record be unexpired.
   */
  async launchFor(runnerId: string, bindingToken: string): Promise<RunnerLaunchEntity | null> {
    if (runnerIdForBindingToken(bindingToken) !== runnerId) {
      return null;
    }
    const launch = await this.runners.getLaunch(runnerId);
    const expected = Buffer.from(launch?.tokenHash ?? '');
    const actual = Buffer.from(sha256hex(bindingToken));
    const matches = expected.length === actual.length && timingSafeEqual(expected, actual);
    return launch && matches && launch.expiresAt >= new Date() ? launch : null;
  }

  /**
   * The runner a PATCH binds a session of `sessionOwnerId` to: "" unbinds (null); otherwise a
   * connected runner (400 when unknown or offline) of that same owner (403 otherwise). A runner
   * serves only its owner's sessions, whoever asks: an admin binding their own session to
   * someone else's runner would run tools on that person's machine.
   */
  async bindingFor(sessionOwnerId: string, runnerId: string): Promise<string | null> {
    if (runnerId === '') {
      return null;
    }
    const row = isRunnerId(runnerId) ? await this.runners.getById(runnerId) : null;
    if (!row || !this.isOnlineRow(row)) {
      throw new DomainError(ErrorCode.InvalidInput, `runner '${runnerId}' is not registered`);
    }
    if (row.ownerId !== sessionOwnerId) {
      throw new DomainError(ErrorCode.Forbidden, `runner '${runnerId}' belongs to another user`);
    }
    return runnerId;
  }

  /**
   * The runner a new session of `ownerId` is bound to: their runner when exactly one is online
   * (typically the local runner `npm start` launches), else none. Runners a host launched for
   * one session serve only that session, so they never count.
   */
  async defaultFor(ownerId: string): Promise<string | null> {
    const online = await this.runners.listOnline(ownerId, this.ttlMs);
    if (online.length === 0) {
      return null;
    }
    const launched = await this.runners.hostLaunchedAmong(online.map((r) => r.runnerId));
    const general = online.filter((r) => !launched.has(r.runnerId));
    return general.length === 1 ? general[0].runnerId : null;
  }

  /**
   * The parent's runner, for a sub-agent session of `ownerId`, when it is that owner's: an
   * admin's sub-agent session under another user's session does not run on that user's runner.
   */
  async inheritable(runnerId: string | null, ownerId: string): Promise<string | null> {
    return runnerId && (await this.runners.getById(runnerId))?.ownerId === ownerId
      ? runnerId
      : null;
  }

  async isOnline(runnerId: string | null): Promise<boolean> {
    return runnerId ? this.isOnlineRow(await this.runners.getById(runnerId)) : false;
  }

  onlineAmong(runnerIds: string[]): Promise<Set<string>> {
    return this.runners.onlineAmong(runnerIds, this.ttlMs);
  }

  claimDead(): Promise<{ runnerId: string; epoch: number }[]> {
    return this.runners.claimDead(this.config.runners.graceMs, this.ttlMs);
  }

  /**
   * Mints a binding token for a runner a host launches for a session (spec/auth.md §5.4): the
   * runner id derives from it and only its hash is stored. Returns the token and the runner id.
   */
  async mintHostLaunch(launch: {
    ownerId: string;
    sessionId: string;
    hostId: string;
  }): Promise<{ token: string; runnerId: string }> {
    const token = randomBytes(32).toString('hex');
    const runnerId = runnerIdForBindingToken(token);
    await this.runners.saveLaunch({
      runnerId,
      tokenHash: sha256hex(token),
      ownerId: launch.ownerId,
      sessionId: launch.sessionId,
      hostId: launch.hostId,
      expiresAt: new Date(Date.now() + HOST_LAUNCH_TTL_MS),
    });
    return { token, runnerId };
  }

  recordExit(runnerId: string, ownerId: string, error: string): Promise<void> {
    return this.runners.recordExit(runnerId, ownerId, error.slice(0, 4000));
  }
}
