import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a runner channel was last admitted (upgrade accepted, hello pending): a handshake in
 * flight counts against its owner's runner quota, so concurrent connects cannot overshoot it.
 */
export class AddRunnerAdmittedAt1796223394741 implements MigrationInterface {
  name = 'AddRunnerAdmittedAt1796223394741';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE runner_connections ADD COLUMN admitted_at timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE runner_connections DROP COLUMN admitted_at`);
  }
}
