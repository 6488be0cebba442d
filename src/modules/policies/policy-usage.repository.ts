import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

import { PolicyUsage, UserDailyCost } from 'src/modules/policies/engine/policy.types';

/**
 * What the cost policies read (spec/policies.md §2.3): the spawn tree's usage (summed over the
 * root session and its sub-agent sessions' `usage_totals`), the owner's spend of the UTC day
 * (over all their sessions), and the per-user-and-day approved threshold.
 */
@Injectable()
export class PolicyUsageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async treeUsage(rootSessionId: string): Promise<PolicyUsage> {
    const [row] = (await this.dataSource.query(
      `SELECT coalesce(sum((usage_totals->>'input_tokens')::float8), 0) AS input,
              coalesce(sum((usage_totals->>'output_tokens')::float8), 0) AS output,
              coalesce(sum((usage_totals->>'total_tokens')::float8), 0) AS total,
              coalesce(sum((usage_totals->>'cost_usd')::float8), 0) AS cost,
              coalesce(sum((usage_totals->>'unpriced_tokens')::float8), 0) AS unpriced
         FROM sessions WHERE (id = $1 OR root_session_id = $1) AND usage_totals IS NOT NULL`,
      [rootSessionId],
    )) as Record<'input' | 'output' | 'total' | 'cost' | 'unpriced', number>[];
    const total = Number(row.total);
    const unpriced = Number(row.unpriced);
    return {
      input_tokens: Number(row.input),
      output_tokens: Number(row.output),
      total_tokens: total,
      // Null while nothing was priced: the spend is unknown, not zero.
      total_cost_usd: total > 0 && unpriced >= total ? null : Number(row.cost),
      unpriced_tokens: unpriced,
    };
  }

  async userDaily(userId: string, day: string): Promise<UserDailyCost & { approved: number }> {
    const [row] = (await this.dataSource.query(
      `SELECT coalesce(sum((usage_totals->>'day_cost_usd')::float8), 0) AS cost,
              coalesce(sum((usage_totals->>'day_unpriced_tokens')::float8), 0) AS unpriced,
              (SELECT ask_approved_usd FROM policy_user_days WHERE user_id = $1 AND utc_day = $2::text::date)
                AS approved
         FROM sessions WHERE owner_id = $1 AND usage_totals->>'day' = $2::text`,
      [userId, day],
    )) as { cost: number; unpriced: number; approved: number | null }[];
    return {
      cost_usd: Number(row.cost),
      unpriced_tokens: Number(row.unpriced),
      approved: Number(row.approved ?? 0),
    };
  }

  /** Records an approved daily threshold (never lowers it). */
  async approveDaily(userId: string, day: string, usd: number): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO policy_user_days (user_id, utc_day, ask_approved_usd) VALUES ($1, $2::date, $3)
       ON CONFLICT (user_id, utc_day)
       DO UPDATE SET ask_approved_usd = GREATEST(policy_user_days.ask_approved_usd, EXCLUDED.ask_approved_usd)`,
      [userId, day, usd],
    );
  }
}
