import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export const IDEMPOTENCY_TTL_HOURS = 24;

export type Claim =
  | { state: 'new' }
  | { state: 'in_progress' }
  | { state: 'mismatch' }
  | { state: 'replay'; statusCode: number; response: unknown };

const PURGE_EVERY_MS = 60_000;

@Injectable()
export class IdempotencyRepository {
  private lastPurge = 0;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Takes the key for this request, or says what the first request with it left behind. */
  async claim(userId: string, key: string, requestHash: string): Promise<Claim> {
    await this.purgeExpired();
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2
         AND created_at < now() - make_interval(hours => $3)`,
      [userId, key, IDEMPOTENCY_TTL_HOURS],
    );
    const inserted = (await this.dataSource.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, key) DO NOTHING RETURNING key`,
      [userId, key, requestHash],
    )) as unknown[];
    if (inserted.length > 0) {
      return { state: 'new' };
    }
    const [row] = (await this.dataSource.query(
      `SELECT request_hash, status_code, response FROM idempotency_keys
         WHERE user_id = $1 AND key = $2`,
      [userId, key],
    )) as { request_hash: string; status_code: number | null; response: unknown }[];
    if (!row) {
      // Released between our insert and select: the caller may simply retry.
      return { state: 'in_progress' };
    }
    if (row.request_hash !== requestHash) {
      return { state: 'mismatch' };
    }
    if (row.status_code === null) {
      return { state: 'in_progress' };
    }
    return { state: 'replay', statusCode: row.status_code, response: row.response };
  }

  async complete(
    userId: string,
    key: string,
    statusCode: number,
    response: unknown,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb
         WHERE user_id = $1 AND key = $2`,
      [userId, key, statusCode, JSON.stringify(response ?? null)],
    );
  }

  /** The first request failed: nothing to replay, the key is free again. */
  async release(userId: string, key: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status_code IS NULL`,
      [userId, key],
    );
  }

  private async purgeExpired(): Promise<void> {
    if (Date.now() - this.lastPurge < PURGE_EVERY_MS) {
      return;
    }
    this.lastPurge = Date.now();
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
      [IDEMPOTENCY_TTL_HOURS],
    );
  }
}
