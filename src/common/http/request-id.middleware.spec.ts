import { IncomingMessage, ServerResponse } from 'node:http';

import { assignRequestId, newRequestId } from 'src/common/http/request-id.middleware';

describe(newRequestId.name, () => {
  it('should mint 32 hex characters, none twice, across refills of its pool', () => {
    const ids = Array.from({ length: 1_000 }, () => newRequestId());
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe(assignRequestId.name, () => {
  const exchange = (headers: Record<string, string>) => {
    const set: Record<string, unknown> = {};
    const req = { headers } as unknown as IncomingMessage;
    const res = {
      headersSent: false,
      setHeader: (name: string, value: unknown) => (set[name] = value),
    } as unknown as ServerResponse;
    return { id: assignRequestId(req, res), set, again: assignRequestId(req, res) };
  };

  it('should echo a safe incoming id and mint one for an unsafe or missing one', () => {
    expect(exchange({ 'x-request-id': 'req-42.a' })).toMatchObject({
      id: 'req-42.a',
      set: { 'X-Request-Id': 'req-42.a' },
      again: 'req-42.a',
    });
    for (const headers of [{ 'x-request-id': 'a b' }, {}] as Record<string, string>[]) {
      const { id, set, again } = exchange(headers);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(set).toEqual({ 'X-Request-Id': id });
      expect(again).toBe(id);
    }
  });
});
