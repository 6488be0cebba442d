import { AppConfig } from 'src/config/app-config';
import { JudgeClientService, parseAnswer } from 'src/modules/policies/judge/judge-client.service';
import { PolicyJudgeDouble, startPolicyJudgeDouble } from 'test/utils/policy-judge-double';

const KEY = 'sk-judge-secret-0123456789';
const REQUEST = {
  field: 'action' as const,
  choices: ['allow', 'deny', 'ask'],
  system: 'policy',
  user: 'event',
};

describe(JudgeClientService.name, () => {
  let double: PolicyJudgeDouble;
  let client: JudgeClientService;

  beforeAll(async () => {
    double = await startPolicyJudgeDouble();
    const judge = { model: 'judge-1', baseUrl: double.url, apiKey: KEY, timeoutMs: 300 };
    client = new JudgeClientService({ policies: { judge } } as unknown as AppConfig);
  });
  afterAll(() => double.close());

  it('should ask with a strict JSON schema and the bearer key, and parse the answer', async () => {
    double.script.push({ content: { action: 'deny', reason: 'exfiltration' } });
    expect(await client.ask(REQUEST)).toEqual({ ok: true, choice: 'deny', reason: 'exfiltration' });
    const body = double.requests.at(-1)!;
    expect(body).toMatchObject({
      model: 'judge-1',
      messages: [
        { role: 'system', content: 'policy' },
        { role: 'user', content: 'event' },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: {
          strict: true,
          schema: {
            additionalProperties: false,
            required: ['action', 'reason'],
            properties: { action: { enum: ['allow', 'deny', 'ask'] } },
          },
        },
      },
    });
    expect(double.authorizations.at(-1)).toBe(`Bearer ${KEY}`);
  });

  it.each([
    ['an HTTP error', { status: 500 }, 'the judge answered HTTP 500'],
    ['an action outside the enum', { content: { action: 'maybe', reason: '' } }, 'malformed'],
    ['content that is not JSON', { raw: 'allow!' }, 'malformed'],
    ['no answer within the timeout', { content: { action: 'allow' }, delayMs: 1000 }, '300 ms'],
  ])('should fail (never throw) on %s, without the key', async (_what, script, error) => {
    double.script.push(script);
    const answer = await client.ask(REQUEST);
    expect(answer.ok).toBe(false);
    expect(JSON.stringify(answer)).toContain(error);
    expect(JSON.stringify(answer)).not.toContain(KEY);
  });

  it('should fail without a configured judge', async () => {
    const none = new JudgeClientService({ policies: { judge: null } } as unknown as AppConfig);
    expect(none.configured).toBe(false);
    expect(await none.ask(REQUEST)).toEqual({ ok: false, error: 'no policy judge is configured' });
  });

  it('parseAnswer should read the classification variant and lower-case the value', () => {
    const body = JSON.stringify({
      choices: [{ message: { content: '{"classification":"TRIVIAL","reason":"hi"}' } }],
    });
    const request = { field: 'classification' as const, choices: ['trivial', 'complex'] };
    expect(parseAnswer(body, request)).toEqual({ ok: true, choice: 'trivial', reason: 'hi' });
    expect(parseAnswer(body, { ...request, choices: ['complex'] })).toBeNull();
  });
});
