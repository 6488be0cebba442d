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

/** A complete session row as the repository returns it (for unit tests, no database). */
export function sessionEntityFactory(overrides: SessionFields = {}): SessionEntity {
  const now = new Date();
  return {
    ...sessionFactory(),
    labels: {},
    liveStatus: 'idle',
    parentSessionId: null,
    rootSessionId: null,
    subAgentName: null,
    runnerId: null,
    hostId: null,
    workspace: null,
    modelOverride: null,
    reasoningEffort: null,
    externalSessionId: null,
    costControlModeOverride: null,
    subagentRoutingOverride: null,
    terminalLaunchArgs: null,
    currentTurnId: null,
    cancelRequestedTurnId: null,
    eventSeq: 0,
    logSeq: 0,
    lastError: null,
    lastTotalTokens: null,
    usageTotals: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
