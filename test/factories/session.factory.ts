import { IdPrefix, newId } from 'src/common/ids/ids';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionFields } from 'src/modules/sessions/sessions.repository';

export type NewSessionFields = SessionFields &
  Pick<SessionEntity, 'agentId' | 'archived' | 'id' | 'kind' | 'ownerId' | 'title'>;

/**
 * A valid top-level session. The owner is a fresh user id unless given, so rows of different
 * tests never meet in a list; `agentId` must name an existing agent before the row is inserted.
 */
export function sessionFactory(overrides: SessionFields = {}): NewSessionFields {
  const id = overrides.id ?? newId(IdPrefix.Session);
  return {
    id,
    ownerId: newId('user'),
    agentId: newId(IdPrefix.Agent),
    title: `Session ${id.slice(-8)}`,
    kind: 'default',
    archived: false,
    ...overrides,
  };
}
