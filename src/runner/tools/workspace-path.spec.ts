import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  WorkspacePathError,
  describeFsError,
  resolveInWorkspace,
} from 'src/runner/tools/workspace-path';

describe(resolveInWorkspace.name, () => {
  let base: string;
  let workspace: string;
  let outside: string;

  beforeEach(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'omnigent-ws-')));
    workspace = path.join(base, 'workspace');
    outside = path.join(base, 'outside');
    fs.mkdirSync(path.join(workspace, 'src'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  });

  afterEach(() => {
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('should resolve relative paths against the workspace', () => {
    expect(resolveInWorkspace(workspace, 'src/a.ts')).toBe(path.join(workspace, 'src', 'a.ts'));
    expect(resolveInWorkspace(workspace, 'src/../b.txt')).toBe(path.join(workspace, 'b.txt'));
  });

  it('should return the workspace for "." and an empty path', () => {
    expect(resolveInWorkspace(workspace, '.')).toBe(workspace);
    expect(resolveInWorkspace(workspace, '')).toBe(workspace);
  });

  it('should accept absolute paths inside the workspace', () => {
    expect(resolveInWorkspace(workspace, path.join(workspace, 'src'))).toBe(
      path.join(workspace, 'src'),
    );
  });

  it('should allow names that merely start with two dots', () => {
    expect(resolveInWorkspace(workspace, '..hidden')).toBe(path.join(workspace, '..hidden'));
  });

  it('should refuse .. escapes', () => {
    expect(() => resolveInWorkspace(workspace, '../outside/secret.txt')).toThrow(
      WorkspacePathError,
    );
    expect(() => resolveInWorkspace(workspace, 'src/../../outside')).toThrow(
      "Path 'src/../../outside' is outside the workspace",
    );
    expect(() => resolveInWorkspace(workspace, '..')).toThrow(WorkspacePathError);
  });

  it('should refuse absolute paths outside the workspace', () => {
    expect(() => resolveInWorkspace(workspace, '/etc/passwd')).toThrow(
      "Path '/etc/passwd' is outside the workspace",
    );
    // A sibling whose name shares the workspace's prefix is still outside.
    expect(() => resolveInWorkspace(workspace, `${workspace}-other/file`)).toThrow(
      WorkspacePathError,
    );
  });

  it('should refuse NUL bytes', () => {
    expect(() => resolveInWorkspace(workspace, 'a\0b')).toThrow('Path must not contain NUL bytes');
  });

  it('should refuse a symlink that points outside', () => {
    fs.symlinkSync(outside, path.join(workspace, 'escape'));
    expect(() => resolveInWorkspace(workspace, 'escape/secret.txt')).toThrow(
      "Path 'escape/secret.txt' resolves outside the workspace through a symbolic link",
    );
    expect(() => resolveInWorkspace(workspace, 'escape/new-file.txt')).toThrow(WorkspacePathError);
  });

  it('should refuse a dangling symlink whose target is outside', () => {
    fs.symlinkSync(path.join(outside, 'not-yet.txt'), path.join(workspace, 'dangling'));
    expect(() => resolveInWorkspace(workspace, 'dangling')).toThrow(WorkspacePathError);
  });

  it('should follow a symlink that stays inside', () => {
    fs.symlinkSync('src', path.join(workspace, 'alias'));
    expect(resolveInWorkspace(workspace, 'alias/x.ts')).toBe(path.join(workspace, 'src', 'x.ts'));
  });

  it('should refuse a symlink loop', () => {
    fs.symlinkSync('loop-b', path.join(workspace, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(workspace, 'loop-b'));
    expect(() => resolveInWorkspace(workspace, 'loop-a')).toThrow(WorkspacePathError);
  });

  it('should work when the workspace itself is reached through a symlink', () => {
    const linked = path.join(base, 'linked-workspace');
    fs.symlinkSync(workspace, linked);
    expect(resolveInWorkspace(linked, 'src')).toBe(path.join(workspace, 'src'));
    expect(resolveInWorkspace(linked, path.join(linked, 'src'))).toBe(path.join(workspace, 'src'));
  });
});

describe(describeFsError.name, () => {
  it('should phrase common errors with the path as requested', () => {
    const error = Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    expect(describeFsError(error, 'a.txt')).toBe("'a.txt' does not exist");
  });
});
