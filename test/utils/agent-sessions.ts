import { bundleOf } from 'test/utils/agent-bundle';
import { eventually, HttpApi } from 'test/utils/http-api';

export interface SessionItem {
  type: string;
  name?: string;
  output?: string;
  content?: { text: string }[];
}

/**
 * Creates a session on an uploaded bundle holding just `config.yaml` (as the bearer of `token`
 * when given); returns its id.
 */
export async function uploadAgentSession(
  serverUrl: string,
  configYaml: string,
  token?: string,
): Promise<string> {
  const form = new FormData();
  const bundle = await bundleOf([{ name: 'config.yaml', content: configYaml }]);
  form.set('metadata', JSON.stringify({ title: 'uploaded agent' }));
  form.set('bundle', new Blob([bundle], { type: 'application/gzip' }), 'agent.tar.gz');
  const created = await fetch(`${serverUrl}/v1/sessions`, {
    method: 'POST',
    body: form,
    headers: {
      Origin: 'omnigent://internal',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
  });
  if (created.status !== 201) {
    throw new Error(`upload answered ${created.status}: ${await created.text()}`);
  }
  return ((await created.json()) as { session_id: string }).session_id;
}

export async function sessionItems(api: HttpApi, sessionId: string): Promise<SessionItem[]> {
  return (
    await api.ok<{ data: SessionItem[] }>('GET', `/v1/sessions/${sessionId}/items?limit=1000`)
  ).data;
}

/**
 * Runs `/tool name args` through an echo-harness session and returns the tool's output once the
 * session is idle again.
 */
export async function runEchoTool(
  api: HttpApi,
  sessionId: string,
  name: string,
  args: object,
): Promise<string> {
  const before = (await sessionItems(api, sessionId)).length;
  const posted = await api.say(sessionId, `/tool ${name} ${JSON.stringify(args)}`);
  if (posted.status !== 202) {
    throw new Error(`posting the message answered ${posted.status}`);
  }
  return eventually(async () => {
    const output = (await sessionItems(api, sessionId))
      .slice(before)
      .find((i) => i.type === 'function_call_output');
    const session = await api.ok<{ status: string }>('GET', `/v1/sessions/${sessionId}`);
    if (!output || session.status !== 'idle') {
      throw new Error(`no tool output yet (status ${session.status})`);
    }
    return output.output as string;
  }, 30_000);
}
