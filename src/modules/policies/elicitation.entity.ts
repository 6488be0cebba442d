import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

import { StateUpdate } from 'src/modules/policies/engine/policy.types';

export type ElicitationStatus = 'pending' | 'accepted' | 'declined' | 'cancelled' | 'expired';

/** What the human (or the sweeper) decided. */
export interface ElicitationResolution {
  action: 'accept' | 'decline' | 'cancel';
  content?: Record<string, unknown> | null;
  reason: 'user' | 'timeout' | 'turn_cancelled';
}

/**
 * An approval prompt (spec/runner-protocol.md §10): a policy ASK on a tool call (`turn_id`,
 * `call_id`) or on a user message (`pending_input` holds the message until it is approved).
 * Resolved exactly once: the status moves from `pending` by a conditional UPDATE.
 */
@Entity('elicitations')
@Index('ix_elicitations_session_id_pending', { synchronize: false })
@Index('ix_elicitations_expires_at_pending', { synchronize: false })
export class ElicitationEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'session_id', type: 'text' })
  sessionId: string;

  @Column({ name: 'turn_id', type: 'text', nullable: true })
  turnId: string | null;

  @Column({ name: 'call_id', type: 'text', nullable: true })
  callId: string | null;

  @Column({ type: 'text', default: 'policy' })
  kind: 'policy' | 'form';

  @Column({ type: 'text', nullable: true })
  phase: string | null;

  @Column({ name: 'policy_names', type: 'text', array: true, nullable: true })
  policyNames: string[] | null;

  /** The `params` of the `response.elicitation_request` event. */
  @Column({ type: 'jsonb' })
  params: Record<string, unknown>;

  /** State writes held until the human accepts. */
  @Column({ name: 'deferred_writes', type: 'jsonb', nullable: true })
  deferredWrites: StateUpdate[] | null;

  /** Label writes held until the human accepts. */
  @Column({ name: 'deferred_labels', type: 'jsonb', nullable: true })
  deferredLabels: Record<string, string> | null;

  /** Request phase: the user message waiting for approval (`{data, created_by}`). */
  @Column({ name: 'pending_input', type: 'jsonb', nullable: true })
  pendingInput: Record<string, unknown> | null;

  @Column({ type: 'text', default: 'pending' })
  status: ElicitationStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true })
  resolvedAt: Date | null;

  @Column({ name: 'resolved_by', type: 'text', nullable: true })
  resolvedBy: string | null;

  @Column({ type: 'jsonb', nullable: true })
  resolution: ElicitationResolution | null;

  /** When the runner acknowledged the verdict (null: re-delivered after a reconnect). */
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;
}
