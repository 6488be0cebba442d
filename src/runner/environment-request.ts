import { EnvRequestParams, EnvShellParams, Methods } from 'src/protocol/runner-protocol';
import { WorkspaceEnvironment } from 'src/runner/environment';
import { envError } from 'src/runner/environment-errors';
import { ToolSettings } from 'src/runner/sandbox/session-sandbox';

/** The runner's answer to an `env.*` request (spec/runner-protocol.md, our extension). */
export async function handleEnvironmentRequest(
  settings: ToolSettings,
  method: string,
  params: EnvRequestParams & Record<string, unknown>,
): Promise<unknown> {
  if (!params || typeof params.session_id !== 'string') {
    throw envError(400, 'invalid_input', `${method} needs session_id`);
  }
  const env = WorkspaceEnvironment.open(settings, params);
  const rel = typeof params.path === 'string' ? params.path : '';
  switch (method) {
    case Methods.envDescribe:
      return env.describe();
    case Methods.envList:
      return env.list(rel);
    case Methods.envRead:
      return env.read(rel);
    case Methods.envWrite:
      return env.write(
        rel,
        String(params.content ?? ''),
        params.encoding === 'base64' ? 'base64' : 'utf-8',
        params.create_parents !== false,
      );
    case Methods.envEdit:
      return env.edit(
        rel,
        String(params.old_text ?? ''),
        String(params.new_text ?? ''),
        params.replace_all === true,
      );
    case Methods.envDelete:
      return env.delete(rel);
    case Methods.envSearch:
      return env.search(
        rel,
        String(params.q ?? ''),
        (params.include as string[] | undefined) ?? [],
        (params.exclude as string[] | undefined) ?? [],
        Number(params.limit) || 500,
      );
    case Methods.envChanges:
      return env.changes();
    case Methods.envShell:
      return env.shell(params as unknown as EnvShellParams);
    default:
      throw envError(404, 'not_found', `Unknown environment method ${method}`);
  }
}
