import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Users seen by the server (spec/auth.md §5.3): upserted on first authenticated request. */
@Entity('users')
export class UserEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz', default: () => 'now()' })
  lastSeenAt: Date;
}
