import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

import { bigintNumber } from 'src/database/transformers';

/** A durable stream event, kept for Last-Event-ID replay (spec/runner-protocol.md §7). */
@Entity('session_event_log')
export class SessionEventEntity {
  @PrimaryColumn({
    name: 'session_id',
    type: 'text',
    primaryKeyConstraintName: 'pk_session_event_log',
  })
  sessionId: string;

  @PrimaryColumn({
    type: 'bigint',
    transformer: bigintNumber,
    primaryKeyConstraintName: 'pk_session_event_log',
  })
  seq: number;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'jsonb' })
  payload: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
