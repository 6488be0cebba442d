import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `/v1/responses` (issue 11): one row per response made through that API. A response is a turn
 * of a session (its id is the turn id); the row keeps what the request said that the turn does
 * not (the model name as asked, instructions, metadata, the previous response) and who owns it.
 * Status and output are read from the turn itself (`turn_terminals`, `items`).
 */
export class CreateResponses1796228400000 implements MigrationInterface {
  name = 'CreateResponses1796228400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE responses (
        id text NOT NULL CONSTRAINT pk_responses PRIMARY KEY,
        session_id text NOT NULL CONSTRAINT responses_session_id_fkey REFERENCES sessions (id) ON DELETE CASCADE,
        owner_id text NOT NULL,
        model text NOT NULL,
        previous_response_id text,
        instructions text,
        metadata jsonb,
        reasoning jsonb,
        background boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX ix_responses_session_created ON responses (session_id, created_at)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE responses`);
  }
}
