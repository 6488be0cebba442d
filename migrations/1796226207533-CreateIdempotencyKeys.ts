import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency keys (Idempotency-Key on creating POSTs): the first answer to a (user, key) is
 * kept for 24 hours and replayed; the request hash tells a retry from a different request.
 */
export class CreateIdempotencyKeys1796226207533 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1796226207533';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        user_id text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        status_code integer,
        response jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_idempotency_keys PRIMARY KEY (user_id, key)
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
  }
}
