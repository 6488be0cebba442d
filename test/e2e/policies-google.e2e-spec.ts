import { PolicyStateRepository } from 'src/modules/policies/policy-state.repository';
import { useTestApp } from 'test/e2e/create-app';
import { clientFor, E2eClient, expectErrorBody } from 'test/utils/e2e-client';
import { echoSession } from 'test/utils/policy-sessions';

const GOOGLE = 'omnigent.policies.builtins.google';

/** The Google Workspace handlers through the hook endpoint, on PostgreSQL. */
describe('policies: Google Workspace handlers (PostgreSQL)', () => {
  let api: E2eClient;

  const t = useTestApp('postgres');
  beforeAll(async () => {
    api = clientFor(t);
  });

  async function sessionWith(handler: string, factoryParams: object): Promise<string> {
    const session = await echoSession(api);
    await api
      .post(`/v1/sessions/${session}/policies`)
      .send({
        name: handler,
        type: 'python',
        handler: `${GOOGLE}.${handler}`,
        factory_params: factoryParams,
      })
      .expect(200);
    return session;
  }

  const toolCall = async (session: string, name: string, args: object) =>
    (
      await api
        .post(`/v1/sessions/${session}/policies/evaluate`)
        .send({ event: { type: 'PHASE_TOOL_CALL', data: { name, arguments: args } } })
        .expect(200)
    ).body as { result: string; reason?: string };
  const toolResult = async (session: string, name: string, args: object, result: object) =>
    (
      await api
        .post(`/v1/sessions/${session}/policies/evaluate`)
        .send({
          event: {
            type: 'PHASE_TOOL_RESULT',
            data: { result },
            request_data: { name, arguments: args },
          },
        })
        .expect(200)
    ).body as { result: string };
  const stateOf = async (session: string) =>
    (await t.app.get(PolicyStateRepository).get(session)).state;

  it('should list the three handlers and refuse bad params with the error body', async () => {
    const registry = (await api.get('/v1/policy-registry').expect(200)).body.data as {
      handler: string;
    }[];
    expect(registry.map((e) => e.handler)).toEqual(
      expect.arrayContaining([
        `${GOOGLE}.gdrive_policy`,
        `${GOOGLE}.gmail_policy`,
        `${GOOGLE}.gcalendar_policy`,
      ]),
    );
    const session = await echoSession(api);
    const attach = (handler: string, factory_params: object) =>
      api
        .post(`/v1/sessions/${session}/policies`)
        .send({ name: 'g', type: 'python', handler: `${GOOGLE}.${handler}`, factory_params });
    expectErrorBody(
      await attach('gdrive_policy', { write_down_action: 'WARN' }),
      400,
      'invalid_input',
      /write_down_action/,
    );
    expectErrorBody(
      await attach('gmail_policy', { allow_sending: true }),
      400,
      'invalid_input',
      /unknown key 'allow_sending'/,
    );
    expect((await api.get(`/v1/sessions/${session}/policies`).expect(200)).body.data).toEqual([]);
  });

  it('should deny sending mail by default and allow reading it', async () => {
    const session = await sessionWith('gmail_policy', {});
    expect(await toolCall(session, 'google__gmail_message_get', { message_id: 'm' })).toEqual({
      result: 'POLICY_ACTION_ALLOW',
    });
    expect(await toolCall(session, 'google__gmail_message_send', { to: 'x@y.z' })).toEqual({
      result: 'POLICY_ACTION_DENY',
      reason: expect.stringContaining('allow_send'),
    });
  });

  it('should allow writing a file only after its create result was recorded', async () => {
    const session = await sessionWith('gdrive_policy', { allow_create: true });
    const write = () =>
      toolCall(session, 'google__docs_document_batch_update', { document_id: 'doc9' });
    expect((await write()).result).toBe('POLICY_ACTION_DENY');
    expect((await toolCall(session, 'google__docs_document_create', { title: 'n' })).result).toBe(
      'POLICY_ACTION_ALLOW',
    );
    await toolResult(
      session,
      'google__docs_document_create',
      { title: 'n' },
      { documentId: 'doc9' },
    );
    expect(await stateOf(session)).toEqual({ gdrive_created_file_ids: ['doc9'] });
    expect(await write()).toEqual({ result: 'POLICY_ACTION_ALLOW' });
  });

  it('should deny a write-down once a confidential file was read', async () => {
    const session = await sessionWith('gdrive_policy', {
      write_files: ['public1', 'https://docs.google.com/document/d/secret1/edit'],
      confidential_files: ['https://docs.google.com/document/d/secret1/edit'],
    });
    const writePublic = () =>
      toolCall(session, 'google__drive_file_update', { file_id: 'public1' });
    expect((await writePublic()).result).toBe('POLICY_ACTION_ALLOW');
    await toolResult(
      session,
      'google__docs_document_get',
      { document_id: 'secret1' },
      { body: 's' },
    );
    expect(await stateOf(session)).toEqual({ gdrive_read_confidential: true });
    expect(await writePublic()).toEqual({
      result: 'POLICY_ACTION_DENY',
      reason: expect.stringContaining('no write-down'),
    });
    expect(
      (await toolCall(session, 'google__drive_file_update', { file_id: 'secret1' })).result,
    ).toBe('POLICY_ACTION_ALLOW');
  });
});
