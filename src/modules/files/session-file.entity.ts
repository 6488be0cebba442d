import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

import { bigintNumber } from 'src/database/transformers';

/** A file uploaded to (or copied into) a session; its bytes live in the file store. */
@Entity('session_files')
@Index('ix_session_files_session_created', { synchronize: false })
export class SessionFileEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'session_id', type: 'text' })
  sessionId: string;

  /** The client's name for the file (a basename), shown in Content-Disposition. */
  @Column({ type: 'text' })
  filename: string;

  /** The media type resolved at upload (declared type, or the extension's for text and code). */
  @Column({ name: 'content_type', type: 'text' })
  contentType: string;

  @Column({ type: 'bigint', transformer: bigintNumber })
  bytes: number;

  /** Where the file store keeps the bytes (`<session id>/<file id>`). */
  @Column({ name: 'storage_key', type: 'text' })
  storageKey: string;

  @Column({ name: 'created_by', type: 'text', nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
