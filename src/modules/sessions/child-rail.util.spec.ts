import { StreamEvent } from 'src/protocol/stream-events';
import { toChildSessionSummary } from 'src/modules/sessions/dto/session-response.dto';
import { childRailChange } from 'src/modules/sessions/child-rail.util';
import { sessionEntityFactory } from 'test/factories';

const NOW = new Date('2026-12-03T09:00:00Z');
const child = sessionEntityFactory({
  parentSessionId: 'conv_parent',
  title: 'helper:summarise: the plan',
  agentId: 'ag_child',
});
const event = (raw: Record<string, unknown>) => raw as unknown as StreamEvent;

describe(toChildSessionSummary.name, () => {
  it('should split the title at its first colon and cut the preview at 150 characters', () => {
    const summary = toChildSessionSummary(child, 'helper', 'x'.repeat(200), 2);
    expect(summary).toMatchObject({
      id: child.id,
      object: 'child_session',
      parent_session_id: 'conv_parent',
      tool: 'helper',
      session_name: 'summarise: the plan',
      kind: 'sub_agent',
      agent_name: 'helper',
      busy: false,
      current_task_id: null,
      current_task_status: null,
      pending_elicitations_count: 2,
    });
    expect(summary.last_message_preview).toHaveLength(150);
  });
});

describe(childRailChange.name, () => {
  it('should carry the busy state and task when a turn starts', () => {
    const running = { ...child, liveStatus: 'running' as const, currentTurnId: 'resp_1' };
    expect(childRailChange(child, running, [], NOW)).toEqual({
      fields: {
        busy: true,
        current_task_id: 'resp_1',
        current_task_status: 'running',
        updated_at: Math.floor(NOW.getTime() / 1000),
      },
      preview: false,
      elicitations: false,
    });
  });

  it('should carry the error of a failed turn and ask for the new preview', () => {
    const running = { ...child, liveStatus: 'running' as const, currentTurnId: 'resp_1' };
    const failed = {
      ...child,
      liveStatus: 'failed' as const,
      lastError: { code: 'harness_error', message: 'boom' },
    };
    const stored = event({ type: 'response.output_item.done', item: { type: 'message' } });
    expect(childRailChange(running, failed, [stored], NOW)).toMatchObject({
      fields: {
        busy: false,
        current_task_id: null,
        last_task_error: { code: 'harness_error', message: 'boom' },
      },
      preview: true,
      elicitations: false,
    });
  });

  it('should carry a new title with its parts', () => {
    const renamed = { ...child, title: 'helper:other' };
    expect(childRailChange(child, renamed, [], NOW)?.fields).toEqual({
      title: 'helper:other',
      tool: 'helper',
      session_name: 'other',
      updated_at: Math.floor(NOW.getTime() / 1000),
    });
  });

  it('should ask for the approval count when an approval is asked or answered', () => {
    const asked = event({ type: 'response.elicitation_request', elicitation_id: 'elic_1' });
    expect(childRailChange(child, child, [asked], NOW)).toMatchObject({
      fields: { updated_at: Math.floor(NOW.getTime() / 1000) },
      preview: false,
      elicitations: true,
    });
  });

  it('should be null when nothing the rail shows changed', () => {
    const delta = event({ type: 'response.output_text.delta', delta: 'hi' });
    const call = event({ type: 'response.output_item.done', item: { type: 'function_call' } });
    expect(childRailChange(child, { ...child, eventSeq: 9 }, [delta, call], NOW)).toBeNull();
  });
});
