import * as path from 'node:path';

import {
  EnvEntry,
  EnvRequestParams,
  EnvShellParams,
  ENV_READ_MAX_BYTES,
} from 'src/protocol/runner-protocol';
import { envError, fsError } from 'src/runner/environment-errors';
import { runProcess } from 'src/runner/sandbox/run-process';
import { placeTools, ToolSettings } from 'src/runner/sandbox/session-sandbox';
import { FsEntry, readAll, ToolFs } from 'src/runner/sandbox/tool-fs';
import { ToolSandbox } from 'src/runner/sandbox/tool-sandbox';
import { resolveInWorkspace } from 'src/runner/tools/workspace-path';

const SEARCH_MAX_VISITED = 20_000;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const SHELL_DEFAULT_TIMEOUT_MS = 30_000;
const SHELL_MAX_TIMEOUT_MS = 600_000;
const SHELL_MAX_OUTPUT_BYTES = 256 * 1024;
const DELETE_MAX_ENTRIES = 100_000;
/** Changed files whose size and mtime `changes` looks up (the rest get null). */
const CHANGES_MAX_STATS = 5_000;

function entryType(type: string): EnvEntry['type'] {
  return type === 'dir'
    ? 'directory'
    : type === 'link'
      ? 'symlink'
      : type === 'file'
        ? 'file'
        : 'other';
}

/**
 * The session's primary environment on this runner (spec/api-reference.md §8.4): its workspace,
 * browsed and edited through the same sandbox and path rules as the agent's tools, so the API
 * reaches exactly what the agent reaches and nothing else.
 */
export class WorkspaceEnvironment {
  private constructor(
    readonly workspace: string,
    private readonly sandbox: ToolSandbox,
  ) {}

  static open(settings: ToolSettings, params: EnvRequestParams): WorkspaceEnvironment {
    const place = placeTools(settings, {
      sessionId: params.session_id,
      workspace: params.workspace ?? null,
      sandbox: params.sandbox,
    });
    if ('error' in place) {
      throw envError(409, 'resource_conflict', place.error);
    }
    return new WorkspaceEnvironment(place.workspace, place.sandbox);
  }

  describe(): Record<string, unknown> {
    return {
      root: this.workspace,
      home: this.workspace,
      sandbox_type: this.sandbox.kind,
      sandbox_active: this.sandbox.kind !== 'none',
      reachable: { unconfined: false, roots: [this.workspace] },
    };
  }

  /** A workspace path: its absolute real path and its workspace-relative form. */
  resolve(relative: string): { abs: string; rel: string } {
    try {
      const abs = resolveInWorkspace(this.workspace, relative ?? '');
      const rel = path.relative(this.workspace, abs) || '.';
      return { abs, rel };
    } catch (error) {
      throw fsError(error, relative);
    }
  }

  /** A directory's entries; `entries: null` when the path is a file. */
  async list(relative: string): Promise<{ base: string; entries: EnvEntry[] | null }> {
    const { abs } = this.resolve(relative);
    return this.withFs(relative, async (fs) => {
      const stat = await fs.stat(abs);
      if (stat.type !== 'dir') {
        return { base: abs, entries: null };
      }
      const names = await fs.readdir(abs);
      const entries: EnvEntry[] = [];
      for (const name of names) {
        entries.push(await this.entry(fs, path.join(abs, name)));
      }
      return { base: abs, entries };
    });
  }

  async read(relative: string, maxBytes = ENV_READ_MAX_BYTES): Promise<Record<string, unknown>> {
    const { abs, rel } = this.resolve(relative);
    return this.withFs(relative, async (fs) => {
      const stat = await fs.stat(abs);
      if (stat.type === 'dir') {
        throw envError(400, 'invalid_path', `'${relative}' is a directory`);
      }
      const chunks: Buffer[] = [];
      let position = 0;
      while (position < Math.min(stat.size, maxBytes)) {
        const chunk = await fs.read(abs, position, Math.min(stat.size, maxBytes) - position);
        if (chunk.length === 0) {
          break;
        }
        chunks.push(chunk);
        position += chunk.length;
      }
      const data = Buffer.concat(chunks);
      const truncated = stat.size > data.length;
      const text = data.toString('utf8');
      const utf8 = !text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(data);
      return {
        object: 'session.environment.filesystem.file_content',
        path: rel,
        bytes: stat.size,
        truncated,
        encoding: utf8 ? 'utf-8' : 'base64',
        content: utf8 ? text : data.toString('base64'),
      };
    });
  }

  async write(
    relative: string,
    content: string,
    encoding: string,
    createParents: boolean,
  ): Promise<Record<string, unknown>> {
    const { abs, rel } = this.resolve(relative);
    if (abs === this.workspace) {
      throw envError(400, 'invalid_path', 'Cannot write to the workspace root');
    }
    const data =
      encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
    return this.withFs(relative, async (fs) => {
      const existed = await fs.stat(abs).then(
        (s) => s,
        () => null,
      );
      if (existed?.type === 'dir') {
        throw envError(400, 'invalid_path', `'${relative}' is a directory`);
      }
      if (createParents) {
        await fs.mkdir(path.dirname(abs));
      }
      await fs.writeFile(abs, data);
      return {
        object: 'session.environment.filesystem.write_result',
        operation: 'write',
        path: rel,
        created: !existed,
        bytes_written: data.length,
        entry: await this.entry(fs, abs),
      };
    });
  }

  async edit(
    relative: string,
    oldText: string,
    newText: string,
    replaceAll: boolean,
  ): Promise<Record<string, unknown>> {
    const { abs, rel } = this.resolve(relative);
    if (oldText === '') {
      throw envError(400, 'invalid_input', 'old_text must not be empty');
    }
    return this.withFs(relative, async (fs) => {
      const before = (await readAll(fs, abs, new AbortController().signal)).toString('utf8');
      const count = before.split(oldText).length - 1;
      if (count === 0) {
        throw envError(400, 'invalid_input', `old_text was not found in '${relative}'`);
      }
      if (count > 1 && !replaceAll) {
        throw envError(
          400,
          'invalid_input',
          `old_text occurs ${count} times in '${relative}'; make it unique or set replace_all`,
        );
      }
      const after = replaceAll
        ? before.split(oldText).join(newText)
        : before.replace(oldText, () => newText);
      await fs.writeFile(abs, Buffer.from(after, 'utf8'));
      return {
        object: 'session.environment.filesystem.edit_result',
        operation: 'edit',
        path: rel,
        replacements: replaceAll ? count : 1,
        bytes_before: Buffer.byteLength(before),
        bytes_after: Buffer.byteLength(after),
        entry: await this.entry(fs, abs),
      };
    });
  }

  async delete(relative: string): Promise<Record<string, unknown>> {
    const { abs, rel } = this.resolve(relative);
    if (abs === this.workspace) {
      throw envError(400, 'invalid_path', 'Cannot delete the workspace root');
    }
    const counted = await this.withFs(relative, async (fs) => {
      const top = await fs.lstat(abs);
      let entries = 0;
      let bytes = 0;
      const walk = async (dir: string): Promise<void> => {
        for (const name of await fs.readdir(dir)) {
          const child = path.join(dir, name);
          const stat = await fs.lstat(child);
          entries++;
          bytes += stat.type === 'file' ? stat.size : 0;
          if (entries > DELETE_MAX_ENTRIES) {
            throw envError(413, 'file_too_large', `'${relative}' has too many entries to delete`);
          }
          if (stat.type === 'dir') {
            await walk(child);
          }
        }
      };
      if (top.type === 'dir') {
        await walk(abs);
      }
      return {
        type: entryType(top.type),
        entries: entries + 1,
        bytes: top.type === 'file' ? top.size : bytes,
      };
    });
    const result = await runProcess(this.sandbox, ['rm', '-rf', '--', abs], 60_000, 4096);
    if (result.exit_code !== 0) {
      throw envError(
        500,
        'runner_error',
        `Could not delete '${relative}': ${result.stderr.trim()}`,
      );
    }
    return {
      object: 'session.environment.filesystem.delete_result',
      operation: 'delete',
      path: rel,
      deleted: true,
      type: counted.type,
      bytes_deleted: counted.bytes,
      entries_deleted: counted.entries,
    };
  }

  /** Entries whose name contains `q` (case-insensitive), include/exclude globs on the path. */
  async search(
    relative: string,
    q: string,
    include: string[],
    exclude: string[],
    limit: number,
  ): Promise<{ base: string; entries: EnvEntry[]; hasMore: boolean; truncated: boolean }> {
    const { abs } = this.resolve(relative);
    const needle = q.trim().toLowerCase();
    const includes = include.map(globToRegExp);
    const excludes = exclude.map(globToRegExp);
    return this.withFs(relative, async (fs) => {
      const found: EnvEntry[] = [];
      let visited = 0;
      let truncated = false;
      let hasMore = false;
      const queue = [abs];
      while (queue.length > 0) {
        const dir = queue.shift() as string;
        let names: string[];
        try {
          names = (await fs.readdir(dir)).sort();
        } catch {
          continue;
        }
        for (const name of names) {
          if (++visited > SEARCH_MAX_VISITED) {
            truncated = true;
            return { base: abs, entries: found, hasMore, truncated };
          }
          const child = path.join(dir, name);
          const rel = path.relative(this.workspace, child);
          const stat = await fs.lstat(child);
          if (stat.type === 'dir' && !SKIPPED_DIRS.has(name)) {
            queue.push(child);
          }
          const wanted =
            name.toLowerCase().includes(needle) &&
            (includes.length === 0 || includes.some((re) => re.test(rel) || re.test(name))) &&
            !excludes.some((re) => re.test(rel) || re.test(name));
          if (wanted) {
            if (found.length >= limit) {
              hasMore = true;
              return { base: abs, entries: found, hasMore, truncated };
            }
            found.push(await this.entry(fs, child));
          }
        }
      }
      return { base: abs, entries: found, hasMore, truncated };
    });
  }

  /** `git status` of the workspace: changed files with their status (empty outside a repo). */
  async changes(): Promise<Record<string, unknown>[]> {
    const inside = await runProcess(
      this.sandbox,
      ['git', 'rev-parse', '--is-inside-work-tree'],
      15_000,
      4096,
    );
    if (inside.exit_code !== 0) {
      return [];
    }
    const status = await runProcess(
      this.sandbox,
      ['git', 'status', '--porcelain=v1', '-z', '--untracked-files=all'],
      30_000,
      4 * 1024 * 1024,
    );
    if (status.exit_code !== 0) {
      throw envError(500, 'git_status_failed', `git status failed: ${status.stderr.trim()}`);
    }
    const fields = status.stdout.split('\0').filter(Boolean);
    const changes: { object: string; path: string; name: string; status: string }[] = [];
    for (let i = 0; i < fields.length; i++) {
      const code = fields[i].slice(0, 2);
      const file = fields[i].slice(3);
      if (code.startsWith('R') || code.startsWith('C')) {
        i++; // the original name follows a rename
      }
      changes.push({
        object: 'session.environment.filesystem.entry',
        path: file,
        name: path.basename(file),
        status: statusName(code),
      });
    }
    return this.withSizes(changes);
  }

  /** `bytes` and `modified_at` of the changed files that exist (deleted ones get null). */
  private async withSizes(
    changes: { object: string; path: string; name: string; status: string }[],
  ): Promise<Record<string, unknown>[]> {
    return this.withFs('.', async (fs) => {
      const result: Record<string, unknown>[] = [];
      for (const [index, change] of changes.entries()) {
        let stat: FsEntry | null = null;
        if (index < CHANGES_MAX_STATS && change.status !== 'deleted') {
          stat = await fs.lstat(path.join(this.workspace, change.path)).catch(() => null);
        }
        result.push({
          ...change,
          bytes: stat?.type === 'file' ? stat.size : null,
          modified_at: unixSeconds(stat?.mtimeMs),
        });
      }
      return result;
    });
  }

  async shell(params: EnvShellParams): Promise<Record<string, unknown>> {
    const timeout = Math.min(
      Math.max(1, Math.floor((params.timeout ?? SHELL_DEFAULT_TIMEOUT_MS / 1000) * 1000)),
      SHELL_MAX_TIMEOUT_MS,
    );
    const result = await runProcess(
      this.sandbox,
      ['/bin/sh', '-c', params.command],
      timeout,
      SHELL_MAX_OUTPUT_BYTES,
    );
    // NUL cannot travel in JSON text stored by PostgreSQL; `cat /proc/*/environ` has many.
    return {
      object: 'session.environment.shell_result',
      ...result,
      stdout: result.stdout.replace(/\0/g, '\uFFFD'),
      stderr: result.stderr.replace(/\0/g, '\uFFFD'),
      cwd: this.workspace,
    };
  }

  private async entry(fs: ToolFs, abs: string): Promise<EnvEntry> {
    const rel = path.relative(this.workspace, abs) || '.';
    const stat = await fs.lstat(abs);
    return {
      id: rel,
      object: 'session.environment.filesystem.entry',
      name: path.basename(abs),
      path: rel,
      type: entryType(stat.type),
      bytes: stat.type === 'file' ? stat.size : null,
      modified_at: unixSeconds(stat.mtimeMs),
    };
  }

  private async withFs<T>(shown: string, work: (fs: ToolFs) => Promise<T>): Promise<T> {
    const fs = this.sandbox.openFs(new AbortController().signal);
    try {
      return await work(fs);
    } catch (error) {
      throw fsError(error, shown);
    } finally {
      fs.close();
    }
  }
}

function unixSeconds(ms: number | undefined): number | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

function statusName(code: string): string {
  if (code === '??') {
    return 'untracked';
  }
  const c = code.trim()[0];
  return c === 'A' ? 'added' : c === 'D' ? 'deleted' : c === 'R' ? 'renamed' : 'modified';
}

function globToRegExp(glob: string): RegExp {
  const part = (text: string) =>
    text
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]');
  return new RegExp(`^${glob.trim().split('**').map(part).join('.*')}$`);
}
