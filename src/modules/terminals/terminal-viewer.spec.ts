import {
  parseClientFrame,
  TerminalViewer,
  VIEWER_QUEUE_MAX_BYTES,
  ViewerSink,
} from 'src/modules/terminals/terminal-viewer';

function sink(): ViewerSink & { sent: string[]; closed: [number, string][] } {
  const sent: string[] = [];
  const closed: [number, string][] = [];
  return {
    sent,
    closed,
    send: (data) => sent.push(data.toString('utf8')),
    close: (code, reason) => closed.push([code, reason]),
  };
}

const b = (s: string) => Buffer.from(s, 'utf8');

describe('parseClientFrame', () => {
  it('should take binary frames as raw input', () => {
    expect(parseClientFrame(b('echo hi\r'), true)).toEqual({ kind: 'input', data: b('echo hi\r') });
    expect(parseClientFrame(Buffer.alloc(0), true)).toEqual({ kind: 'ignore' });
  });

  it('should read resize and input control messages from text frames', () => {
    expect(parseClientFrame(b('{"type":"resize","cols":120,"rows":40}'), false)).toEqual({
      kind: 'resize',
      cols: 120,
      rows: 40,
    });
    expect(parseClientFrame(b('{"type":"input","data":"ls\\r"}'), false)).toEqual({
      kind: 'input',
      data: b('ls\r'),
    });
  });

  it('should ignore unknown shapes and out-of-range sizes, never throw', () => {
    for (const frame of [
      'ls',
      '[]',
      'null',
      '{"type":"resize","cols":0,"rows":10}',
      '{"type":"resize","cols":10.5,"rows":10}',
      '{"type":"resize","cols":"80","rows":24}',
      '{"type":"resize","cols":80,"rows":100000}',
      '{"type":"input","data":""}',
      '{"type":"other"}',
      '{',
    ]) {
      expect(parseClientFrame(b(frame), false)).toEqual({ kind: 'ignore' });
    }
  });
});

describe('TerminalViewer', () => {
  it('should replay the snapshot, then only output past its end', () => {
    const viewer = new TerminalViewer(false);
    const out = sink();
    // Arrives while the snapshot is on its way: "abc" (0–3) is in the snapshot, "def" is not.
    viewer.output(0, b('abc'));
    viewer.output(3, b('def'));
    viewer.start(out, b('abcd'), 4);
    viewer.output(6, b('gh'));
    expect(out.sent).toEqual(['abcd', 'ef', 'gh']);
  });

  it('should drop output it already sent and keep output after a gap', () => {
    const viewer = new TerminalViewer(false);
    const out = sink();
    viewer.start(out, b(''), 0);
    viewer.output(0, b('hello'));
    viewer.output(2, b('llo'));
    viewer.output(10, b('later'));
    expect(out.sent).toEqual(['hello', 'later']);
  });

  it('should close a viewer that queues too much while attaching', () => {
    const viewer = new TerminalViewer(false);
    viewer.output(0, Buffer.alloc(VIEWER_QUEUE_MAX_BYTES + 1));
    expect(viewer.closed).toBe(true);
    const out = sink();
    viewer.start(out, b('x'), 1);
    expect(out.sent).toEqual([]);
    expect(out.closed).toHaveLength(1);
  });

  it('should close once and send nothing after closing', () => {
    const viewer = new TerminalViewer(true);
    const out = sink();
    viewer.start(out, b('x'), 1);
    viewer.close(1000, 'terminal exited');
    viewer.close(1000, 'again');
    viewer.output(1, b('y'));
    expect(out.sent).toEqual(['x']);
    expect(out.closed).toEqual([[1000, 'terminal exited']]);
  });
});
