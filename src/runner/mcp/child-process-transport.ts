import { ChildProcess } from 'node:child_process';

import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** How much of the server's stderr is kept to explain a failed start. */
const STDERR_TAIL_BYTES = 2048;

/**
 * An MCP stdio transport over a process the runner already started: the SDK's own stdio
 * transport spawns the command itself, outside the session's sandbox, so this one takes the
 * child that `ToolSandbox.spawn` made (bubblewrap, or the scrubbed unsandboxed spawn).
 */
export class ChildProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();
  private stderr = '';
  private closed = false;

  constructor(private readonly child: ChildProcess) {}

  /** The end of what the server wrote on stderr (for the error a failed start reports). */
  get stderrTail(): string {
    return this.stderr.trim();
  }

  start(): Promise<void> {
    const { child } = this;
    child.stdout?.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (;;) {
        let message: JSONRPCMessage | null;
        try {
          message = this.buffer.readMessage();
        } catch (error) {
          this.onerror?.(error as Error);
          continue;
        }
        if (!message) {
          break;
        }
        this.onmessage?.(message);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.stdin?.on('error', (error) => this.onerror?.(error));
    child.on('error', (error) => {
      this.onerror?.(error);
      this.finish();
    });
    child.on('close', () => this.finish());
    return Promise.resolve();
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child.stdin;
      if (this.closed || !stdin || stdin.destroyed) {
        reject(new Error('the MCP server is not running'));
        return;
      }
      stdin.write(serializeMessage(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    const { child } = this;
    if (!this.closed && child.pid !== undefined && child.exitCode === null) {
      try {
        // Spawned with setsid: the whole group, whatever the server started.
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    this.finish();
    return Promise.resolve();
  }

  private finish(): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.buffer.clear();
    this.onclose?.();
  }
}
