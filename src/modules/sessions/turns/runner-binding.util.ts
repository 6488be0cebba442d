import { RunnerConnection } from 'src/modules/runners/runner-connection';
import { SessionEntity } from 'src/modules/sessions/session.entity';

/** A connection speaks for a session only when it is the session's runner and its owner's. */
export function servedBy(session: SessionEntity, connection: RunnerConnection): boolean {
  return session.runnerId === connection.runnerId && session.ownerId === connection.ownerId;
}
