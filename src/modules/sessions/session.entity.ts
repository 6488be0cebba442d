import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';

import { bigintNumber } from 'src/database/transformers';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import type { UsageTotals } from 'src/modules/sessions/usage-totals';

export const SESSION_STATUSES = ['idle', 'running', 'waiting', 'failed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** Mid-turn: a turn is running or waiting (on approval or a client tool). */
export function isBusy(status: SessionStatus): boolean {
  return status === 'running' || status === 'waiting';
}

@Entity('sessions')
@Index('ix_sessions_owner_created', { synchronize: false })
@Index('ix_sessions_owner_updated', { synchronize: false })
@Index('ix_sessions_runner_id', { synchronize: false })
@Index('ix_sessions_parent_created', { synchronize: false })
@Index('ix_sessions_title_search', { synchronize: false })
export class SessionEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  /** The creator; the only user (besides admins) who can see the session. */
  @Column({ name: 'owner_id', type: 'text' })
  ownerId: string;

  @Column({ name: 'agent_id', type: 'text' })
  agentId: string;

  @ManyToOne(() => AgentEntity)
  @JoinColumn({ name: 'agent_id', foreignKeyConstraintName: 'sessions_agent_id_fkey' })
  agent?: AgentEntity;

  @Column({ type: 'text', nullable: true })
  title: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'::jsonb" })
  labels: Record<string, string>;

  @Column({ name: 'live_status', type: 'text', default: 'idle' })
  liveStatus: SessionStatus;

  @Column({ type: 'text', default: 'default' })
  kind: 'default' | 'sub_agent';

  @Column({ name: 'parent_session_id', type: 'text', nullable: true })
  parentSessionId: string | null;

  /** The top-level ancestor of a sub-agent session (null for a top-level session). */
  @Column({ name: 'root_session_id', type: 'text', nullable: true })
  rootSessionId: string | null;

  @Column({ name: 'sub_agent_name', type: 'text', nullable: true })
  subAgentName: string | null;

  @Column({ type: 'boolean', default: false })
  archived: boolean;

  @Column({ name: 'runner_id', type: 'text', nullable: true })
  runnerId: string | null;

  @Column({ name: 'host_id', type: 'text', nullable: true })
  hostId: string | null;

  @Column({ type: 'text', nullable: true })
  workspace: string | null;

  @Column({ name: 'model_override', type: 'text', nullable: true })
  modelOverride: string | null;

  @Column({ name: 'reasoning_effort', type: 'text', nullable: true })
  reasoningEffort: string | null;

  @Column({ name: 'external_session_id', type: 'text', nullable: true })
  externalSessionId: string | null;

  @Column({ name: 'cost_control_mode_override', type: 'text', nullable: true })
  costControlModeOverride: 'on' | 'off' | null;

  @Column({ name: 'subagent_routing_override', type: 'text', nullable: true })
  subagentRoutingOverride: 'on' | 'off' | null;

  @Column({ name: 'terminal_launch_args', type: 'jsonb', nullable: true })
  terminalLaunchArgs: string[] | null;

  /** The turn (response id) in progress, if any. */
  @Column({ name: 'current_turn_id', type: 'text', nullable: true })
  currentTurnId: string | null;

  /** Set by an interrupt: transient events of this turn are dropped from then on. */
  @Column({ name: 'cancel_requested_turn_id', type: 'text', nullable: true })
  cancelRequestedTurnId: string | null;

  /** Highest runner seq persisted (spec/runner-protocol.md §6). */
  @Column({ name: 'event_seq', type: 'bigint', default: 0, transformer: bigintNumber })
  eventSeq: number;

  /** Highest stream seq logged (spec/runner-protocol.md §7). */
  @Column({ name: 'log_seq', type: 'bigint', default: 0, transformer: bigintNumber })
  logSeq: number;

  @Column({ name: 'last_error', type: 'jsonb', nullable: true })
  lastError: { code: string; message: string } | null;

  @Column({ name: 'last_total_tokens', type: 'integer', nullable: true })
  lastTotalTokens: number | null;

  /** Cumulative usage of the finished turns (cost policies read it); null before the first. */
  @Column({ name: 'usage_totals', type: 'jsonb', nullable: true })
  usageTotals: UsageTotals | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
