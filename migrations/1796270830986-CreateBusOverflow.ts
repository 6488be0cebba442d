import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The PostgreSQL bus's overflow (spec/runner-protocol.md §9): a message too big for a NOTIFY
 * payload is stored here and the notification carries its id; rows older than 5 minutes are
 * deleted by the bus.
 */
export class CreateBusOverflow1796270830986 implements MigrationInterface {
  name = 'CreateBusOverflow1796270830986';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE bus_overflow (
        id bigserial NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_bus_overflow PRIMARY KEY (id)
      )`);
    await queryRunner.query(`CREATE INDEX ix_bus_overflow_created_at ON bus_overflow (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE bus_overflow`);
  }
}
