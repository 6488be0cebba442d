import { firstValueFrom, toArray } from 'rxjs';

import { ChildSummariesService } from 'src/modules/sessions/child-summaries.service';
import { toChildSessionSummary } from 'src/modules/sessions/dto/session-response.dto';
import { StreamSnapshotService } from 'src/modules/sessions/stream/stream-snapshot.service';
import { sessionEntityFactory } from 'test/factories';
import { newTestService, TestService } from 'test/utils/new-test-service';

describe(StreamSnapshotService.name, () => {
  let t: TestService<StreamSnapshotService>;
  const session = sessionEntityFactory();
  const all = () => firstValueFrom(t.sut.frames(session).pipe(toArray()));
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
  });
});
