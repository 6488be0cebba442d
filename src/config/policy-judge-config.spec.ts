import { getConfig } from 'src/config/app-config';
import { configProblems } from 'test/utils/config-problems';

const KEY = 'sk-judge-never-shown-42';

describe('getConfig: the policy judge', () => {
  it('should have no judge by default', () => {
    expect(getConfig({}).policies.judge).toBeNull();
  });

  it('should configure the judge from its model, with OpenAI as the default endpoint', () => {
    expect(getConfig({ OMNIGENT_POLICY_JUDGE_MODEL: 'gpt-5-mini' }).policies.judge).toEqual({
      model: 'gpt-5-mini',
      baseUrl: 'https://api.openai.com/v1',
      apiKey: undefined,
      timeoutMs: 15_000,
    });
    const judge = getConfig({
      OMNIGENT_POLICY_JUDGE_MODEL: 'judge',
      OMNIGENT_POLICY_JUDGE_BASE_URL: 'http://127.0.0.1:8000/v1/',
      OMNIGENT_POLICY_JUDGE_API_KEY: KEY,
      OMNIGENT_POLICY_JUDGE_TIMEOUT_MS: '2000',
    }).policies.judge;
    expect(judge).toEqual({
      model: 'judge',
      baseUrl: 'http://127.0.0.1:8000/v1',
      apiKey: KEY,
      timeoutMs: 2000,
    });
  });

  it('should refuse a key without a model, a bad URL and a bad timeout, never echoing the key', () => {
    const problems = configProblems({
      OMNIGENT_POLICY_JUDGE_API_KEY: KEY,
      OMNIGENT_POLICY_JUDGE_BASE_URL: 'not a url',
      OMNIGENT_POLICY_JUDGE_TIMEOUT_MS: '10',
    });
    expect(problems.join('\n')).toMatch(/OMNIGENT_POLICY_JUDGE_API_KEY is set but .*MODEL is not/);
    expect(problems.join('\n')).toMatch(/OMNIGENT_POLICY_JUDGE_BASE_URL/);
    expect(problems.join('\n')).toMatch(/OMNIGENT_POLICY_JUDGE_TIMEOUT_MS/);
    expect(problems.join('\n')).not.toContain(KEY);
  });

  it('should treat a blank model and key as unset', () => {
    const env = { OMNIGENT_POLICY_JUDGE_MODEL: ' ', OMNIGENT_POLICY_JUDGE_API_KEY: '' };
    expect(getConfig(env).policies.judge).toBeNull();
  });

  it('should not pass the judge key to the local runner', () => {
    const config = getConfig({
      OMNIGENT_POLICY_JUDGE_MODEL: 'judge',
      OMNIGENT_POLICY_JUDGE_API_KEY: KEY,
      OMNIGENT_LOCAL_RUNNER_ENV: 'OMNIGENT_POLICY_JUDGE_API_KEY',
    });
    expect(JSON.stringify(config.runners.localEnv)).not.toContain(KEY);
  });
});
