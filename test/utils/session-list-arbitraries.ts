import fc from 'fast-check';

import { PageRequest } from 'src/common/pagination/pagination';
import type { SessionListFilters } from 'src/modules/sessions/sessions.repository';

/** Session list filters as sessionListFilters gives them, with the empty values a query can hold too. */
export const listFilters: fc.Arbitrary<SessionListFilters> = fc.record({
  ownerId: fc.constantFrom('u1', 'u2'),
  sortBy: fc.constantFrom('created_at' as const, 'updated_at' as const),
  agentId: fc.option(fc.constantFrom('', 'ag_1', 'ag_2'), { nil: undefined }),
  agentName: fc.option(fc.constantFrom('', 'echo', 'other'), { nil: undefined }),
  search: fc.option(fc.constantFrom('', 'foo', 'foo bar'), { nil: undefined }),
  includeArchived: fc.boolean(),
  kind: fc.constantFrom('default' as const, 'sub_agent' as const, 'any' as const),
});

/** Pages of the session list, cursors (empty ones too) either way. */
export const listPages: fc.Arbitrary<PageRequest> = fc.record({
  limit: fc.integer({ min: 1, max: 100 }),
  order: fc.constantFrom('asc' as const, 'desc' as const),
  after: fc.option(fc.constantFrom('', 'conv_a', 'conv_b'), { nil: undefined }),
  before: fc.option(fc.constantFrom('', 'conv_a', 'conv_b'), { nil: undefined }),
});
