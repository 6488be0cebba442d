import { MessageEvent } from '@nestjs/common';
import { EMPTY, firstValueFrom, Observable, of, Subject, toArray } from 'rxjs';

import { EventBus, sessionChannel } from 'src/common/bus/event-bus';
import { InMemoryBus } from 'src/common/bus/in-memory.bus';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { StreamEvent, StreamEvents } from 'src/protocol/stream-events';
import { MetricsService } from 'src/modules/metrics/metrics.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { PresenceService } from 'src/modules/sessions/presence/presence.service';
import { SessionQuotasService } from 'src/modules/sessions/session-quotas.service';
import { SessionsRepository } from 'src/modules/sessions/sessions.repository';
import { SessionEventsRepository } from 'src/modules/sessions/stream/session-events.repository';
import {
  ChildUnit,
  SessionEventsService,
} from 'src/modules/sessions/stream/session-events.service';
import { StreamSnapshotService } from 'src/modules/sessions/stream/stream-snapshot.service';
import { factory, sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

/** `type@id` per frame, `DONE@id` for the terminator. */
const frames = (stream: Observable<MessageEvent>) =>
  firstValueFrom(stream.pipe(toArray())).then((all) =>
    all.map((f) => (f.data === '[DONE]' ? `DONE@${f.id}` : `${f.type}@${f.id}`)),
  );

describe(SessionEventsService.name, () => {
  let t: TestService<SessionEventsService>;
  let bus: InMemoryBus;
  const auth = factory.auth();
  const session = sessionEntityFactory({ ownerId: auth.userId });
  const channel = sessionChannel(session.id);
  const running = StreamEvents.status(session.id, 'running');
  const idle = StreamEvents.status(session.id, 'idle');

  beforeEach(() => {
    bus = new InMemoryBus();
    t = newTestService(SessionEventsService, {
      overrides: new Map<unknown, unknown>([
        [EventBus, bus],
        [MetricsService, new MetricsService()],
      ]),
    });
    t.mock(SessionQuotasService).openStream.mockReturnValue(() => undefined);
  });

  describe('locked', () => {
    it('should publish what the unit emitted, in order and with its seqs, only once it committed', async () => {
      const published: unknown[] = [];
      bus.subscribe(channel, (m) => published.push(m));
      const delta = StreamEvents.heartbeat();
      t.mock(SessionsRepository).withLockedSession.mockImplementation(async (_id, work) => {
        const result = await work({} as never);
        expect(published).toEqual([]);
        return {
          result,
          events: [
            { seq: 3, event: running },
            { seq: null, event: delta },
          ],
          before: session,
          after: session,
        };
      });

      await expect(t.sut.locked(session.id, () => Promise.resolve('done'))).resolves.toBe('done');

      expect(published).toEqual([
        { kind: 'event', seq: 3, event: running },
        { kind: 'event', seq: null, event: delta },
      ]);
    });

    it("should tell the rail's listener of a child's committed unit, and of no other", async () => {
      const units: ChildUnit[] = [];
      t.sut.onChildUnit((unit) => units.push(unit));
      const child = sessionEntityFactory({ parentSessionId: session.id });
      const busy = { ...child, liveStatus: 'running' as const };
      const repository = t.mock(SessionsRepository);
      repository.withLockedSession.mockResolvedValueOnce({
        result: 1,
        events: [{ seq: 1, event: running }],
        before: child,
        after: busy,
      });
      repository.withLockedSession.mockResolvedValueOnce({
        result: 2,
        events: [],
        before: session,
        after: session,
      });

      await t.sut.locked(child.id, () => Promise.resolve(1));
      await t.sut.locked(session.id, () => Promise.resolve(2));

      expect(units).toEqual([{ before: child, after: busy, events: [running] }]);
    });

    it('should publish nothing and resolve undefined for a session that does not exist', async () => {
      const published: unknown[] = [];
      bus.subscribe(channel, (m) => published.push(m));
      t.mock(SessionsRepository).withLockedSession.mockResolvedValue(null);

      await expect(t.sut.locked(session.id, () => Promise.resolve(1))).resolves.toBeUndefined();
      expect(published).toEqual([]);
    });

    it('should publish nothing when the unit of work fails', async () => {
      const published: unknown[] = [];
      bus.subscribe(channel, (m) => published.push(m));
      t.mock(SessionsRepository).withLockedSession.mockRejectedValue(new Error('rolled back'));

      await expect(t.sut.locked(session.id, () => Promise.resolve(1))).rejects.toThrow(
        'rolled back',
      );
      expect(published).toEqual([]);
    });
  });

  describe('openStream', () => {
    beforeEach(() => {
      t.mock(SessionAccessService).require.mockResolvedValue(session);
      t.mock(StreamSnapshotService).frames.mockReturnValue(EMPTY);
      t.mock(PresenceService).seat.mockReturnValue(null);
    });

    it('should send the snapshot on connect, with the last id, beside the live tail', async () => {
      const nudge = { type: 'session.changed_files.invalidated' as const, session_id: session.id };
      t.mock(StreamSnapshotService).frames.mockReturnValue(of(nudge));
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(4);
      const stream = await t.sut.openStream(auth, session.id, {});
      const all = firstValueFrom(stream.pipe(toArray()));
      await new Promise((resolve) => setImmediate(resolve));
      t.sut.closeStreams(session.id);

      const sent = (await all).map((f) => [f.type, f.id, f.data === '[DONE]' ? null : f.data]);
      expect(sent.map(([type, id]) => `${type}@${id}`)).toEqual([
        'session.heartbeat@4',
        'session.changed_files.invalidated@4',
        'undefined@4',
      ]);
      expect(JSON.parse(sent[1][2] as string)).toEqual(nudge);
      expect(t.mock(StreamSnapshotService).frames).toHaveBeenCalledWith(session, null);
    });

    it("should seat the viewer while the stream is open, with the tree's changes live", async () => {
      const changes = new Subject<StreamEvent>();
      const leave = jest.fn();
      const seat = { join: jest.fn(() => leave), current: jest.fn(), changes$: changes };
      t.mock(PresenceService).seat.mockReturnValue(seat);
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(2);
      const stream = await t.sut.openStream(auth, session.id, { idle: true });
      expect(t.mock(PresenceService).seat).toHaveBeenCalledWith(auth, session, true);
      expect(seat.join).not.toHaveBeenCalled();

      const seen = frames(stream);
      expect(seat.join).toHaveBeenCalledTimes(1);
      changes.next({ type: 'session.presence', conversation_id: session.id, viewers: [] });
      t.sut.closeStreams(session.id);

      expect(await seen).toEqual(['session.heartbeat@2', 'session.presence@2', 'DONE@2']);
      expect(leave).toHaveBeenCalledTimes(1);
      expect(changes.observed).toBe(false);
    });

    it('should check access before subscribing, so a refusal leaves nothing behind', async () => {
      t.mock(SessionAccessService).require.mockRejectedValue(
        new DomainError(ErrorCode.NotFound, 'Session x does not exist'),
      );
      await expect(t.sut.openStream(auth, session.id, {})).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(bus.subscriberCount(channel)).toBe(0);
    });

    it('should read the stream at its level: read', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(0);
      await t.sut.openStream(auth, session.id, {});
      expect(t.mock(SessionAccessService).require).toHaveBeenCalledWith(
        auth,
        session.id,
        SessionLevel.Read,
      );
    });

    it('should ack, stream live events with their seqs, and end with [DONE] on delete', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(4);
      const stream = await t.sut.openStream(auth, session.id, {});
      const seen = frames(stream);

      bus.publish(channel, { kind: 'event', seq: 5, event: running });
      t.sut.publishTransient(session.id, { type: 'response.output_text.delta', delta: 'hi' });
      t.sut.closeStreams(session.id);

      expect(await seen).toEqual([
        'session.heartbeat@4',
        'session.status@5',
        'response.output_text.delta@5',
        'DONE@5',
      ]);
      expect(bus.subscriberCount(channel)).toBe(0);
    });

    it('should keep what is published while the current seq is being read', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockImplementation(() => {
        bus.publish(channel, { kind: 'event', seq: 5, event: running });
        return Promise.resolve(4);
      });
      const stream = await t.sut.openStream(auth, session.id, {});
      const seen = frames(stream);
      t.sut.closeStreams(session.id);

      expect(await seen).toEqual(['session.heartbeat@4', 'session.status@5', 'DONE@5']);
    });

    it('should replay the log after Last-Event-ID before going live', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(3);
      t.mock(SessionEventsRepository).oldestSeq.mockResolvedValue(1);
      t.mock(SessionEventsRepository).range.mockResolvedValue([
        { seq: 2, event: running },
        { seq: 3, event: idle },
      ]);
      const stream = await t.sut.openStream(auth, session.id, { lastEventId: '1' });
      const seen = frames(stream);
      t.sut.closeStreams(session.id);

      expect(await seen).toEqual([
        'session.heartbeat@1',
        'session.status@2',
        'session.status@3',
        'DONE@3',
      ]);
      expect(t.mock(SessionEventsRepository).range).toHaveBeenCalledWith(session.id, 1, 3, 500);
    });

    it('should ignore a Last-Event-ID that is not a seq', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(3);
      const stream = await t.sut.openStream(auth, session.id, { lastEventId: 'abc' });
      const seen = frames(stream);
      t.sut.closeStreams(session.id);
      expect(await seen).toEqual(['session.heartbeat@3', 'DONE@3']);
    });

    it('should end every open stream with [DONE] when the server shuts down', async () => {
      t.mock(SessionEventsRepository).currentSeq.mockResolvedValue(0);
      const seen = frames(await t.sut.openStream(auth, session.id, {}));

      await t.sut.beforeApplicationShutdown();

      expect(await seen).toEqual(['session.heartbeat@0', 'DONE@0']);
    });
  });
});
