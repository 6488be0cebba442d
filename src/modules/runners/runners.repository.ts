import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';

@Injectable()
export class RunnersRepository {
  constructor(
    @InjectRepository(RunnerConnectionEntity)
    private readonly connections: Repository<RunnerConnectionEntity>,
    @InjectRepository(RunnerLaunchEntity) private readonly launches: Repository<RunnerLaunchEntity>,
  ) {}

  getById(runnerId: string): Promise<RunnerConnectionEntity | null> {
    return this.connections.findOneBy({ runnerId });
  }

  /**
   * Admits a channel of `ownerId` for `runnerId`, binding the id to that owner from this first
   * contact on (before any hello). 'taken' when the id belongs to another user (a directory row
   * or a launch record of theirs); 'quota' when the owner already has `maxRunners` runners online
   * or handshaking. Serialised per owner, so concurrent connects cannot overshoot the quota.
   */
  admit(
    runnerId: string,
    ownerId: string,
    limits: { maxRunners: number; ttlMs: number; handshakeMs: number },
  ): Promise<'admitted' | 'taken' | 'quota'> {
    return this.connections.manager.transaction(async (manager) => {
      await manager.query(
        `SELECT pg_advisory_xact_lock(hashtext('omnigent.runners'), hashtext($1))`,
        [ownerId],
      );
      const launches: { owner_id: string }[] = await manager.query(
        `SELECT owner_id FROM runner_launches WHERE runner_id = $1`,
        [runnerId],
      );
      if (launches.length > 0 && launches[0].owner_id !== ownerId) {
        return 'taken';
      }
      await manager.query(
        `INSERT INTO runner_connections (runner_id, owner_id) VALUES ($1, $2)
         ON CONFLICT (runner_id) DO NOTHING`,
        [runnerId, ownerId],
      );
      const rows: { owner_id: string }[] = await manager.query(
        `SELECT owner_id FROM runner_connections WHERE runner_id = $1 FOR UPDATE`,
        [runnerId],
      );
      if (rows[0].owner_id !== ownerId) {
        return 'taken';
      }
      const counted: { n: number }[] = await manager.query(
        `SELECT count(*)::int AS n FROM runner_connections
         WHERE owner_id = $1 AND runner_id <> $2
           AND ((connected AND last_seen_at > now() - make_interval(secs => $3))
             OR (admitted_at > now() - make_interval(secs => $4)
               AND (connected_at IS NULL OR connected_at < admitted_at)))`,
        [ownerId, runnerId, limits.ttlMs / 1000, limits.handshakeMs / 1000],
      );
      if (counted[0].n >= limits.maxRunners) {
        return 'quota';
      }
      await manager.query(
        `UPDATE runner_connections SET admitted_at = now() WHERE runner_id = $1`,
        [runnerId],
      );
      return 'admitted';
    });
  }

  /**
   * Records a new connection for the runner: the epoch goes up, so writes of any older
   * connection (on this or another replica) are ignored from now on. Returns the new epoch.
   */
  async register(
    runnerId: string,
    ownerId: string,
    replicaId: string,
    hello: unknown,
  ): Promise<number> {
    const rows: { epoch: string }[] = await this.connections.query(
      `INSERT INTO runner_connections (runner_id, owner_id, replica_id, epoch, connected, connected_at, last_seen_at, hello)
       VALUES ($1, $2, $3, 1, true, now(), now(), $4)
       ON CONFLICT (runner_id) DO UPDATE SET
         replica_id = EXCLUDED.replica_id,
         epoch = runner_connections.epoch + 1, connected = true, connected_at = now(),
         last_seen_at = now(), disconnected_at = NULL, hello = EXCLUDED.hello,
         exit_error = NULL, exit_error_at = NULL
       WHERE runner_connections.owner_id = EXCLUDED.owner_id
       RETURNING epoch`,
      [runnerId, ownerId, replicaId, JSON.stringify(hello)],
    );
    // A runner id never changes hands: another owner's row is left alone and the hello refused.
    if (rows.length === 0) {
      throw new DomainError(ErrorCode.Conflict, 'This runner id is registered to another user');
    }
    return Number(rows[0].epoch);
  }

  async touch(runnerId: string, epoch: number): Promise<void> {
    await this.connections.query(
      `UPDATE runner_connections SET last_seen_at = now() WHERE runner_id = $1 AND epoch = $2 AND connected`,
      [runnerId, epoch],
    );
  }

  async markDisconnected(runnerId: string, epoch: number): Promise<void> {
    await this.connections.query(
      `UPDATE runner_connections SET connected = false, disconnected_at = now()
       WHERE runner_id = $1 AND epoch = $2 AND connected`,
      [runnerId, epoch],
    );
  }

  /** Connected runners heard from within the TTL; all owners when ownerId is null. */
  listOnline(ownerId: string | null, ttlMs: number): Promise<RunnerConnectionEntity[]> {
    const qb = this.connections
      .createQueryBuilder('r')
      .where('r.connected = true')
      .andWhere(`r.lastSeenAt > now() - make_interval(secs => :ttl)`, { ttl: ttlMs / 1000 })
      .orderBy('r.connectedAt', 'DESC');
    if (ownerId !== null) {
      qb.andWhere('r.ownerId = :ownerId', { ownerId });
    }
    return qb.getMany();
  }

  /** Which of these runners are online (connected and fresh). */
  async onlineAmong(runnerIds: string[], ttlMs: number): Promise<Set<string>> {
    if (runnerIds.length === 0) {
      return new Set();
    }
    const rows: { runner_id: string }[] = await this.connections.query(
      `SELECT runner_id FROM runner_connections
       WHERE runner_id = ANY($1) AND connected AND last_seen_at > now() - make_interval(secs => $2)`,
      [runnerIds, ttlMs / 1000],
    );
    return new Set(rows.map((r) => r.runner_id));
  }

  /**
   * Claims dead runners whose death was not handled yet (spec/runner-protocol.md F7): dropped
   * longer than the grace ago, or "connected" but silent past the TTL (their replica died).
   * SKIP LOCKED lets several replicas sweep without doing the work twice.
   */
  async claimDead(graceMs: number, ttlMs: number): Promise<{ runnerId: string; epoch: number }[]> {
    return this.connections.manager.transaction(async (manager) => {
      const rows: { runner_id: string; epoch: string }[] = await manager.query(
        `SELECT runner_id, epoch FROM runner_connections
         WHERE death_handled_epoch < epoch
           AND ((NOT connected AND disconnected_at < now() - make_interval(secs => $1))
             OR (connected AND last_seen_at < now() - make_interval(secs => $2)))
         FOR UPDATE SKIP LOCKED`,
        [graceMs / 1000, ttlMs / 1000],
      );
      for (const row of rows) {
        await manager.query(
          `UPDATE runner_connections SET death_handled_epoch = epoch, connected = false,
             disconnected_at = coalesce(disconnected_at, now())
           WHERE runner_id = $1 AND epoch = $2`,
          [row.runner_id, row.epoch],
        );
      }
      return rows.map((r) => ({ runnerId: r.runner_id, epoch: Number(r.epoch) }));
    });
  }

  getLaunch(runnerId: string): Promise<RunnerLaunchEntity | null> {
    return this.launches.findOneBy({ runnerId });
  }

  async saveLaunch(launch: Partial<RunnerLaunchEntity>): Promise<void> {
    await this.launches.save(this.launches.create(launch));
  }

  /** Keeps a host-reported exit reason for `GET /v1/runners/{id}/status` (the runner may never have connected). */
  async recordExit(runnerId: string, ownerId: string, error: string): Promise<void> {
    await this.connections.query(
      `INSERT INTO runner_connections (runner_id, owner_id, connected, exit_error, exit_error_at)
       VALUES ($1, $2, false, $3, now())
       ON CONFLICT (runner_id) DO UPDATE SET exit_error = EXCLUDED.exit_error, exit_error_at = now()`,
      [runnerId, ownerId, error],
    );
  }

  /** Of these runners, those a host launched for one session. */
  async hostLaunchedAmong(runnerIds: string[]): Promise<Set<string>> {
    if (runnerIds.length === 0) {
      return new Set();
    }
    const rows: { runner_id: string }[] = await this.launches.query(
      `SELECT runner_id FROM runner_launches WHERE runner_id = ANY($1) AND host_id IS NOT NULL`,
      [runnerIds],
    );
    return new Set(rows.map((r) => r.runner_id));
  }
}
