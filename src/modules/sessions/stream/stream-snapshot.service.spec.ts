import { firstValueFrom, toArray } from 'rxjs';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { TerminalInfo, TerminalMethods } from 'src/protocol/terminal-protocol';
import { SessionRunnerService } from 'src/modules/runners/session-runner.service';
import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { toChildSessionSummary } from 'src/modules/sessions/dto/session-response.dto';
import {
  SNAPSHOT_TERMINALS_MS,
  StreamSnapshotService,
} from 'src/modules/sessions/stream/stream-snapshot.service';
import { toTerminalResource } from 'src/modules/terminals/dto/terminal.dto';
import { sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(StreamSnapshotService.name, () => {
  let t: TestService<StreamSnapshotService>;
  const session = sessionEntityFactory();
  const bound = sessionEntityFactory({ runnerId: 'runner_token_1' });
  const all = (of = session) => firstValueFrom(t.sut.frames(of).pipe(toArray()));
  const terminal = (id: string): TerminalInfo => ({
    terminal_id: id,
    terminal: 'shell',
    session_key: id,
    running: true,
    exit_code: null,
    cols: 80,
    rows: 24,
    created_at: 1,
    cwd: '/w',
    sandbox_type: 'none',
  });
  const types = (events: { type: string }[]) => events.map((e) => e.type);
  const nudge = {
    type: 'session.changed_files.invalidated',
    environment_id: 'default',
    session_id: session.id,
    sequence_number: null,
  };

  beforeEach(() => {
    t = newTestService(StreamSnapshotService);
    t.mock(ChildSummariesService).newest.mockResolvedValue([]);
  });

  describe('frames', () => {
    it("should send each child's full summary, then the changed-files nudge", async () => {
      const child = sessionEntityFactory({ parentSessionId: session.id, title: 'helper:x' });
      const summary = toChildSessionSummary(child, 'helper', 'hi', 1);
      t.mock(ChildSummariesService).newest.mockResolvedValue([summary]);

      expect(await all()).toEqual([
        {
          type: 'session.child_session.updated',
          child: summary,
          child_session_id: child.id,
          conversation_id: session.id,
          sequence_number: null,
        },
        nudge,
      ]);
    });

    it('should read nothing before it is subscribed', () => {
      t.sut.frames(session);
      expect(t.mock(ChildSummariesService).newest).not.toHaveBeenCalled();
    });

    it('should go on without the children when they cannot be read', async () => {
      t.mock(ChildSummariesService).newest.mockRejectedValue(new Error('db down'));
      expect(await all()).toEqual([nudge]);
    });

    it('should not ask for terminals when the session has no runner', async () => {
      await all();
      expect(t.mock(SessionRunnerService).call).not.toHaveBeenCalled();
    });

    it("should announce the runner's terminals in creation order, after the children", async () => {
      const child = sessionEntityFactory({ parentSessionId: bound.id, title: 'helper:x' });
      t.mock(ChildSummariesService).newest.mockResolvedValue([
        toChildSessionSummary(child, 'helper', null, 0),
      ]);
      t.mock(SessionRunnerService).call.mockResolvedValue([terminal('term_a'), terminal('term_b')]);

      const events = await all(bound);

      expect(types(events)).toEqual([
        'session.child_session.updated',
        'session.resource.created',
        'session.resource.created',
        'session.changed_files.invalidated',
      ]);
      expect(events[1]).toEqual({
        type: 'session.resource.created',
        resource: toTerminalResource(bound.id, terminal('term_a')),
        sequence_number: null,
      });
      expect((events[2] as unknown as { resource: { id: string } }).resource.id).toBe('term_b');
      expect(t.mock(SessionRunnerService).call).toHaveBeenCalledWith(
        bound,
        TerminalMethods.list,
        {},
        { spec: null, timeoutMs: SNAPSHOT_TERMINALS_MS },
      );
    });

    it('should go on without the terminals when the runner is offline', async () => {
      t.mock(SessionRunnerService).call.mockRejectedValue(
        new DomainError(ErrorCode.RunnerUnavailable, 'Runner x is not connected'),
      );
      expect(types(await all(bound))).toEqual(['session.changed_files.invalidated']);
    });

    it('should give up on the terminals after 2 s', async () => {
      jest.useFakeTimers();
      try {
        t.mock(SessionRunnerService).call.mockReturnValue(new Promise(() => undefined));
        const events = all(bound);
        await jest.advanceTimersByTimeAsync(SNAPSHOT_TERMINALS_MS);
        expect(types(await events)).toEqual(['session.changed_files.invalidated']);
      } finally {
        jest.useRealTimers();
      }
    });
  });
});
