import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Policy labels (spec/policies.md §2.4, §4): whether a session's guardrails labels have been
 * seeded with their `initial` values (once per conversation), and the label writes an ASK holds
 * until the human accepts.
 */
export class AddPolicyLabels1796282076460 implements MigrationInterface {
  name = 'AddPolicyLabels1796282076460';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE policy_session_states ADD COLUMN labels_seeded boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(`ALTER TABLE elicitations ADD COLUMN deferred_labels jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE elicitations DROP COLUMN deferred_labels`);
    await queryRunner.query(`ALTER TABLE policy_session_states DROP COLUMN labels_seeded`);
  }
}
