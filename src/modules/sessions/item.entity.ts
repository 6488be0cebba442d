import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

import { bigintNumber } from 'src/database/transformers';
import type { ItemType } from 'src/protocol/items';

/** One conversation item. Runner-minted ids are stored as given (unique per session). */
@Entity('items')
@Index('ix_items_session_position', ['sessionId', 'position'])
@Index('ix_items_session_response', ['sessionId', 'responseId'])
@Index('ix_items_text_search', { synchronize: false })
export class ItemEntity {
  @PrimaryColumn({ name: 'session_id', type: 'text', primaryKeyConstraintName: 'pk_items' })
  sessionId: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'pk_items' })
  id: string;

  /** Conversation order. */
  @Column({ type: 'bigint', generated: 'increment', transformer: bigintNumber })
  position: number;

  @Column({ name: 'response_id', type: 'text' })
  responseId: string;

  @Column({ type: 'text' })
  type: ItemType;

  @Column({ type: 'text' })
  status: string;

  @Column({ type: 'jsonb' })
  data: Record<string, unknown>;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy: string | null;

  /** Plain text of messages, for search. */
  @Column({ name: 'text_content', type: 'text', nullable: true })
  textContent: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
