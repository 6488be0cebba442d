import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A response made through `/v1/responses`: a turn of the session `sessionId` (its id is the turn
 * id). What the turn itself records (status, output, error) is read from the turn; this row keeps
 * what only the request said.
 */
@Entity('responses')
@Index('ix_responses_session_created', ['sessionId', 'createdAt'])
export class ResponseEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_responses' })
  id: string;

  @Column({ name: 'session_id', type: 'text' })
  sessionId: string;

  @Column({ name: 'owner_id', type: 'text' })
  ownerId: string;

  /** The agent's name (what `model` resolved to). */
  @Column({ type: 'text' })
  model: string;

  @Column({ name: 'previous_response_id', type: 'text', nullable: true })
  previousResponseId: string | null;

  @Column({ type: 'text', nullable: true })
  instructions: string | null;

  @Column({ type: 'jsonb', nullable: true })
  metadata: Record<string, string> | null;

  @Column({ type: 'jsonb', nullable: true })
  reasoning: Record<string, string> | null;

  @Column({ type: 'boolean', default: false })
  background: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
