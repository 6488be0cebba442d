import { RpcError } from 'src/protocol/json-rpc';
import { ENV_RUNNER_ERROR } from 'src/protocol/runner-protocol';
import { WorkspacePathError } from 'src/runner/tools/workspace-path';

/** A refusal with the HTTP status the server answers with (spec/api-reference.md §8.4). */
export function envError(status: number, code: string, message: string): RpcError {
  return new RpcError(ENV_RUNNER_ERROR, message, { code, status } as never);
}

/** A filesystem or path failure as the refusal the API answers with (its errno decides). */
export function fsError(error: unknown, shown: string): RpcError {
  if (error instanceof RpcError) {
    return error;
  }
  if (error instanceof WorkspacePathError) {
    return envError(400, 'invalid_path', error.message);
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return envError(404, 'path_not_found', `'${shown}' does not exist`);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return envError(403, 'permission_denied', `Permission denied: '${shown}'`);
  }
  if (code === 'EISDIR') {
    return envError(400, 'invalid_path', `'${shown}' is a directory`);
  }
  return envError(500, 'runner_error', `'${shown}': ${(error as Error)?.message ?? 'failed'}`);
}
