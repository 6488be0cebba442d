import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { IdPrefix, newId } from 'src/common/ids/ids';

export { agentFactory, subAgentToolFactory } from 'test/factories/agent.factory';
export type { AgentFields } from 'test/factories/agent.factory';
export { itemFactory, messageData } from 'test/factories/item.factory';
export { lockedSessionFactory } from 'test/factories/locked-session.factory';
export type { LockedSessionFake } from 'test/factories/locked-session.factory';
export { sessionEntityFactory, sessionFactory } from 'test/factories/session.factory';
export type { NewSessionFields } from 'test/factories/session.factory';

/** The basics every test needs: fresh ids and principals. */
export const factory = {
  id: (prefix: IdPrefix | string = IdPrefix.Session): string => newId(prefix),
  userId: (): string => newId('user'),
  auth: (overrides: Partial<AuthPrincipal> = {}): AuthPrincipal => ({
    kind: 'user',
    userId: newId('user'),
    isAdmin: false,
    ...overrides,
  }),
};
