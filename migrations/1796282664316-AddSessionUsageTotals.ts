import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A session's cumulative LLM usage and the current UTC day's (src/modules/sessions/usage-totals.ts),
 * updated when a turn ends: what the cost policies read (spec/policies.md §2.3, §7 Cost), and the
 * per-user-and-day approvals of `user_daily_cost_budget`.
 */
export class AddSessionUsageTotals1796282664316 implements MigrationInterface {
  name = 'AddSessionUsageTotals1796282664316';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sessions ADD COLUMN usage_totals jsonb`);
    await queryRunner.query(`
      CREATE TABLE policy_user_days (
        user_id text NOT NULL,
        utc_day date NOT NULL,
        ask_approved_usd double precision NOT NULL DEFAULT 0,
        CONSTRAINT pk_policy_user_days PRIMARY KEY (user_id, utc_day)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE policy_user_days`);
    await queryRunner.query(`ALTER TABLE sessions DROP COLUMN usage_totals`);
  }
}
