import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per turn that has ended: the key makes "a turn ends with exactly one terminal event"
 * structural (issue 16, finding 4). A terminal `response.*` is written only by the unit of work
 * whose insert of this row succeeded; a second one (the runner's `response.completed` after the
 * server failed the turn, a replay after a crash) finds the row and is dropped.
 */
export class CreateTurnTerminals1796225164577 implements MigrationInterface {
  name = 'CreateTurnTerminals1796225164577';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE turn_terminals (
        session_id text NOT NULL CONSTRAINT turn_terminals_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        turn_id text NOT NULL,
        type text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_turn_terminals PRIMARY KEY (session_id, turn_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE turn_terminals`);
  }
}
