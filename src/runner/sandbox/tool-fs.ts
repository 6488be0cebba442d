import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { createInterface } from 'node:readline';

export interface FsEntry {
  type: 'file' | 'dir' | 'link' | 'other';
  size: number;
  /** Last modification, milliseconds since the epoch. */
  mtimeMs?: number;
}

/**
 * The filesystem calls of the file tools. Paths are absolute and already checked against the
 * workspace (workspace-path.ts); where the calls run decides what a path can reach. Failures
 * throw errors carrying node's `code` (ENOENT, EISDIR, …).
 */
export interface ToolFs {
  stat(path: string): Promise<FsEntry>;
  lstat(path: string): Promise<FsEntry>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  /** Up to `length` bytes from `position`; fewer at the end of the file, none past it. */
  read(path: string, position: number, length: number): Promise<Buffer>;
  writeFile(path: string, data: Buffer): Promise<void>;
  /** mkdir -p */
  mkdir(path: string): Promise<void>;
  /** Ends the tool call's access (stops the sandboxed worker). */
  close(): void;
}

/** What read_file and edit_file read per call. */
export const READ_CHUNK_BYTES = 64 * 1024;

/** The whole file, chunk by chunk, stopping early when the signal aborts. */
export async function readAll(toolFs: ToolFs, path: string, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    signal.throwIfAborted();
    const chunk = await toolFs.read(path, position, READ_CHUNK_BYTES);
    if (chunk.length === 0) {
      return Buffer.concat(chunks);
    }
    chunks.push(chunk);
    position += chunk.length;
  }
}

function describe(stat: { isSymbolicLink(): boolean; isDirectory(): boolean; isFile(): boolean }) {
  if (stat.isSymbolicLink()) {
    return 'link';
  }
  if (stat.isDirectory()) {
    return 'dir';
  }
  return stat.isFile() ? 'file' : 'other';
}

/** The runner's own process: for runners without a sandbox (`sandbox: none`, or none works). */
export class LocalToolFs implements ToolFs {
  async stat(path: string): Promise<FsEntry> {
    const stat = await fs.stat(path);
    return { type: describe(stat), size: stat.size, mtimeMs: stat.mtimeMs };
  }

  async lstat(path: string): Promise<FsEntry> {
    const stat = await fs.lstat(path);
    return { type: describe(stat), size: stat.size, mtimeMs: stat.mtimeMs };
  }

  readlink(path: string): Promise<string> {
    return fs.readlink(path);
  }

  readdir(path: string): Promise<string[]> {
    return fs.readdir(path);
  }

  async read(path: string, position: number, length: number): Promise<Buffer> {
    const handle = await fs.open(path, 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  writeFile(path: string, data: Buffer): Promise<void> {
    return fs.writeFile(path, data);
  }

  async mkdir(path: string): Promise<void> {
    await fs.mkdir(path, { recursive: true });
  }

  close(): void {}
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

function fsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function abortError(signal: AbortSignal): Error {
  if (signal.reason instanceof Error) {
    return signal.reason;
  }
  return Object.assign(new Error('The tool call was aborted'), { name: 'AbortError' });
}

/**
 * The calls run by `fs-worker.js` inside the sandbox, started on first use and stopped by
 * close() or an abort (which rejects what is pending with the abort reason).
 */
export class SandboxedToolFs implements ToolFs {
  private child?: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  private closed = false;
  /** Why the worker is gone; later calls fail with it instead of waiting forever. */
  private dead?: Error;

  constructor(
    private readonly startWorker: () => ChildProcess,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  stat(path: string): Promise<FsEntry> {
    return this.call('stat', { path }) as Promise<FsEntry>;
  }

  lstat(path: string): Promise<FsEntry> {
    return this.call('lstat', { path }) as Promise<FsEntry>;
  }

  readlink(path: string): Promise<string> {
    return this.call('readlink', { path }) as Promise<string>;
  }

  readdir(path: string): Promise<string[]> {
    return this.call('readdir', { path }) as Promise<string[]>;
  }

  async read(path: string, position: number, length: number): Promise<Buffer> {
    return Buffer.from((await this.call('read', { path, position, length })) as string, 'base64');
  }

  async writeFile(path: string, data: Buffer): Promise<void> {
    await this.call('writeFile', { path, data: data.toString('base64') });
  }

  async mkdir(path: string): Promise<void> {
    await this.call('mkdir', { path });
  }

  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.stop(fsError('EIO', 'The sandboxed file worker was closed'));
  }

  private readonly onAbort = (): void => this.stop(abortError(this.signal));

  private stop(reason: Error): void {
    this.closed = true;
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    this.failAll(reason);
  }

  private failAll(reason: Error): void {
    for (const pending of this.pending.values()) {
      pending.reject(reason);
    }
    this.pending.clear();
  }

  private die(reason: Error): void {
    this.dead ??= reason;
    this.failAll(reason);
  }

  private worker(): ChildProcess {
    if (this.child) {
      return this.child;
    }
    const child = this.startWorker();
    this.child = child;
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) =>
      this.onLine(line),
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', (error) =>
      this.die(fsError('EIO', `The sandboxed file worker failed: ${error.message}`)),
    );
    child.on('exit', (code, signal) =>
      this.die(
        fsError(
          'EIO',
          `The sandboxed file worker stopped (${signal ?? `exit ${code}`})` +
            (this.stderr.trim() ? `: ${this.stderr.trim()}` : ''),
        ),
      ),
    );
    // A reply can be pending while the worker is killed; its stdin then errors (EPIPE).
    child.stdin?.on('error', () => undefined);
    return child;
  }

  private onLine(line: string): void {
    let message: { id?: number; result?: unknown; error?: { code: string; message: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    const pending = this.pending.get(Number(message.id));
    if (!pending) {
      return;
    }
    this.pending.delete(Number(message.id));
    if (message.error) {
      pending.reject(fsError(message.error.code, message.error.message));
    } else {
      pending.resolve(message.result);
    }
  }

  private call(op: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.signal.aborted) {
      return Promise.reject(abortError(this.signal));
    }
    if (this.closed || this.dead) {
      return Promise.reject(this.dead ?? fsError('EIO', 'The sandboxed file worker was closed'));
    }
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = this.worker();
      } catch (error) {
        reject(error as Error);
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      child.stdin?.write(`${JSON.stringify({ id, op, ...params })}\n`);
    });
  }
}
