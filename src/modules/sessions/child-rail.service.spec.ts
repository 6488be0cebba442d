import { StreamEvent } from 'src/protocol/stream-events';
import { ChildRailService } from 'src/modules/sessions/child-rail.service';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { LockedSession } from 'src/modules/sessions/locked-session';
import {
  ChildUnit,
  SessionEventsService,
} from 'src/modules/sessions/stream/session-events.service';
import { lockedSessionFactory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(ChildRailService.name, () => {
  let t: TestService<ChildRailService>;
  let childUnit: (unit: ChildUnit) => void;
  const parent = sessionEntityFactory();
  const child = sessionEntityFactory({ parentSessionId: parent.id, title: 'helper:x' });
  const idle = child as ChildUnit['after'];
  const running: ChildUnit['after'] = { ...idle, liveStatus: 'running', currentTurnId: 'resp_1' };
  const parentUnit = lockedSessionFactory(parent);
  const message = { type: 'response.output_item.done', item: { type: 'message' } };
  const asked = { type: 'response.elicitation_request', elicitation_id: 'elic_1' };
  /** The `child` of the parent's events once every queued update ran. */
  const published = async () => {
    await t.sut.settled();
    return parentUnit.events.map((e) => (e as { child: Record<string, unknown> }).child);
  };

  beforeEach(() => {
    parentUnit.events.splice(0);
    t = newTestService(ChildRailService);
    t.mock(SessionEventsService).onChildUnit.mockImplementation((listener) => {
      childUnit = listener;
    });
    t.mock(SessionEventsService).locked.mockImplementation(
      async <T>(_id: string, work: (s: LockedSession) => Promise<T>) => work(parentUnit),
    );
    t.sut.onModuleInit();
  });

  it("should put each change on the parent's stream in order, reading what it needs again", async () => {
    const summaries = t.mock(ChildSummariesService);
    // The first read is the slower: the queue still keeps the order of the units.
    summaries.lastMessageText.mockImplementation(
      () => new Promise((resolve) => setTimeout(() => resolve('y'.repeat(200)), 5)),
    );
    summaries.pendingElicitationsCount.mockResolvedValue(1);

    childUnit({ before: child, after: running, events: [message as unknown as StreamEvent] });
    childUnit({ before: running, after: running, events: [asked as unknown as StreamEvent] });
    childUnit({ before: running, after: running, events: [] });

    const [first, second, ...rest] = await published();
    expect(first).toMatchObject({ busy: true, last_message_preview: 'y'.repeat(150) });
    expect(second).toEqual({ pending_elicitations_count: 1, updated_at: expect.any(Number) });
    expect(rest).toEqual([]);
    expect(parentUnit.events[0]).toMatchObject({
      type: 'session.child_session.updated',
      conversation_id: parent.id,
      child_session_id: child.id,
    });
  });

  it('should log a failed update and go on with the next one', async () => {
    t.mock(ChildSummariesService).pendingElicitationsCount.mockRejectedValueOnce(new Error('db'));

    childUnit({ before: child, after: idle, events: [asked as unknown as StreamEvent] });
    childUnit({ before: child, after: running, events: [] });

    expect(await published()).toEqual([expect.objectContaining({ busy: true })]);
  });
});
