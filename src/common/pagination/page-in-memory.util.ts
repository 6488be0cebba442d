import { ListEnvelope, listEnvelope, ListQueryDto } from 'src/common/pagination/pagination';

/**
 * A cursor page of a list held in memory (a runner's answer), sorted by id: ids sort by creation
 * time. An unknown `after` starts at the first row; an unknown `before` ends at the last.
 */
export function pageInMemory<T extends { id: string }>(
  rows: readonly T[],
  query: ListQueryDto,
): ListEnvelope<T> {
  const { limit = 20, order = 'desc', after, before } = query;
  const sorted = [...rows].sort((a, b) =>
    order === 'asc' ? a.id.localeCompare(b.id) : b.id.localeCompare(a.id),
  );
  let start = 0;
  let end = sorted.length;
  if (after) {
    start = sorted.findIndex((r) => r.id === after) + 1;
  } else if (before) {
    const at = sorted.findIndex((r) => r.id === before);
    end = at >= 0 ? at : sorted.length;
    start = Math.max(0, end - limit);
  }
  const page = sorted.slice(start, Math.min(end, start + limit));
  const hasMore = before ? start > 0 : start + page.length < sorted.length;
  return listEnvelope(page, hasMore, (r) => r.id);
}
