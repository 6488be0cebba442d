import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { RpcError } from 'src/protocol/json-rpc';
import {
  TerminalExitParams,
  TerminalInfo,
  TerminalMethods,
  TerminalOpenResult,
  TerminalOutputParams,
  TerminalSnapshotResult,
} from 'src/protocol/terminal-protocol';
import { TerminalManager } from 'src/runner/terminals/terminal-manager';

type Sent = { method: string; params: unknown };

/** Waits (event-driven, bounded) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!check()) {
    throw new Error(`never happened: ${what}`);
  }
}

describe('TerminalManager (real PTY, no sandbox)', () => {
  let root: string;
  let sent: Sent[];
  let manager: TerminalManager;

  const open = (sessionId: string, key = 'k', extra: Record<string, unknown> = {}) =>
    manager.handle(TerminalMethods.open, {
      session_id: sessionId,
      workspace: null,
      sandbox: { type: 'none' },
      terminal_id: `term_${sessionId}_${key}`,
      terminal: 'shell',
      session_key: key,
      spec: { command: 'bash', args: ['--noprofile', '--norc'], cwd: '', env: { PS1: '$ ' } },
      cols: 80,
      rows: 24,
      ...extra,
    }) as TerminalOpenResult;

  /** Every output notification of a terminal, joined in offset order. */
  const output = (terminalId: string) => {
    const chunks = sent
      .filter((s) => s.method === TerminalMethods.output)
      .map((s) => s.params as TerminalOutputParams)
      .filter((p) => p.terminal_id === terminalId);
    let text = '';
    let end = 0;
    for (const chunk of chunks) {
      expect(chunk.offset).toBe(end);
      const data = Buffer.from(chunk.data, 'base64');
      end += data.length;
      text += data.toString('utf8');
    }
    return text;
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'omnigent-term-'));
    // Each test's own array: PTYs of the previous test may still print while they die.
    const log: Sent[] = [];
    sent = log;
    manager = new TerminalManager(
      {
        workspaceRoot: root,
        env: { PATH: process.env.PATH, OMNIGENT_SECRET_TOKEN: 'x' },
        support: {
          available: false,
          bwrapPath: null,
          version: null,
          network: false,
          reason: 'test',
          layout: [],
        },
        required: false,
        protectedPaths: [],
      },
      { notify: (method, params) => log.push({ method, params }) > 0, log: () => undefined },
    );
  });

  afterEach(() => {
    manager.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('should run input through the PTY and stream output with contiguous offsets', async () => {
    const opened = open('conv_a');
    expect(opened).toMatchObject({ created: true, running: true, sandbox_type: 'none' });
    expect(opened.cwd).toBe(join(root, 'conv_a'));
    manager.onNotification(TerminalMethods.input, {
      session_id: 'conv_a',
      terminal_id: opened.terminal_id,
      data: Buffer.from('echo $((6*7)) ${OMNIGENT_SECRET_TOKEN:-scrubbed}; tty\r').toString(
        'base64',
      ),
    });
    await until(() => /42 scrubbed/.test(output(opened.terminal_id)), 'the echo output');
    await until(() => /\/dev\/pts\//.test(output(opened.terminal_id)), 'a real tty');

    const snapshot = manager.handle(TerminalMethods.snapshot, {
      session_id: 'conv_a',
      terminal_id: opened.terminal_id,
    }) as TerminalSnapshotResult;
    expect(Buffer.from(snapshot.data, 'base64').toString('utf8')).toContain('42 scrubbed');
    expect(snapshot.end).toBe(Buffer.byteLength(output(opened.terminal_id)));
  });

  it('should be idempotent per (terminal, session_key) and keep sessions apart', () => {
    const first = open('conv_a');
    expect(open('conv_a', 'k', { terminal_id: 'term_other' })).toMatchObject({
      terminal_id: first.terminal_id,
      created: false,
    });
    open('conv_a', 'k2');
    open('conv_b');
    const listA = manager.handle(TerminalMethods.list, { session_id: 'conv_a' }) as TerminalInfo[];
    expect(listA.map((t) => t.session_key).sort()).toEqual(['k', 'k2']);
    // Another session cannot reach a terminal by id.
    expect(() =>
      manager.handle(TerminalMethods.snapshot, {
        session_id: 'conv_b',
        terminal_id: first.terminal_id,
      }),
    ).toThrow(RpcError);
  });

  it('should resize the PTY', async () => {
    const opened = open('conv_a');
    const ref = { session_id: 'conv_a', terminal_id: opened.terminal_id };
    manager.onNotification(TerminalMethods.resize, { ...ref, cols: 101, rows: 33 });
    manager.onNotification(TerminalMethods.resize, { ...ref, cols: 0, rows: 99999 });
    manager.onNotification(TerminalMethods.input, {
      ...ref,
      data: Buffer.from('stty size\r').toString('base64'),
    });
    await until(() => /33 101/.test(output(opened.terminal_id)), 'the new size');
  });

  it('should refuse a cwd outside the workspace', () => {
    expect(() =>
      open('conv_a', 'k', {
        spec: { command: 'bash', args: [], cwd: '../..', env: {} },
      }),
    ).toThrow(/not a directory in the workspace/);
  });

  it('should end the terminals of a closed session and report them closed', async () => {
    const opened = open('conv_a');
    open('conv_b');
    expect(manager.closeSession('conv_a')).toBe(1);
    await until(() => sent.some((s) => s.method === TerminalMethods.exit), 'the exit notification');
    const exit = sent.find((s) => s.method === TerminalMethods.exit)?.params as TerminalExitParams;
    expect(exit).toMatchObject({ terminal_id: opened.terminal_id, closed: true });
    expect(manager.handle(TerminalMethods.list, { session_id: 'conv_a' })).toEqual([]);
    expect(manager.handle(TerminalMethods.list, { session_id: 'conv_b' })).toHaveLength(1);
  });
});
