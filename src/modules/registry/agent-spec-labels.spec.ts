import { agentSpecToJson, AgentSpecError, parseAgentSpec } from 'src/modules/registry/agent-spec';

const HANDLER = 'omnigent.policies.builtins.orchestration.read_only_os';

describe('agent spec: guardrails labels', () => {
  it('should read condition, set_labels and labels under guardrails', () => {
    const spec = parseAgentSpec(
      [
        'name: a',
        'guardrails:',
        '  ask_timeout: 90',
        '  labels:',
        '    env: {initial: dev, values: [dev, prod]}',
        '    tier: {}',
        '  policies:',
        '    p:',
        `      handler: ${HANDLER}`,
        '      condition: {env: [prod, 1], pii: true}',
        '      set_labels: [tier]',
      ].join('\n'),
    );
    expect(spec.policies).toEqual([
      {
        name: 'p',
        handler: HANDLER,
        condition: { env: ['prod', '1'], pii: 'true' },
        set_labels: ['tier'],
      },
    ]);
    expect(spec.labels).toEqual({ env: { initial: 'dev', values: ['dev', 'prod'] }, tier: {} });
    expect(agentSpecToJson(spec).labels).toEqual(spec.labels);
    expect(spec.askTimeoutS).toBe(90);
    expect(agentSpecToJson(spec).ask_timeout).toBe(90);
  });

  it('should read top-level labels and leave them out when none are declared', () => {
    expect(parseAgentSpec('name: a\nlabels: {env: {initial: dev}}').labels).toEqual({
      env: { initial: 'dev' },
    });
    const bare = parseAgentSpec('name: a');
    expect(bare.labels).toBeUndefined();
    expect(agentSpecToJson(bare)).not.toHaveProperty('labels');
  });

  it.each([
    [
      `policies: [{name: p, handler: ${HANDLER}, condition: x}]`,
      /condition must be a non-empty mapping/,
    ],
    [`policies: [{name: p, handler: ${HANDLER}, condition: {}}]`, /condition must be a non-empty/],
    [
      `policies: [{name: p, handler: ${HANDLER}, condition: {env: []}}]`,
      /condition.env must be a non-empty list/,
    ],
    [
      `policies: [{name: p, handler: ${HANDLER}, condition: {env: {a: 1}}}]`,
      /condition.env must be a string/,
    ],
    [`policies: [{name: p, handler: ${HANDLER}, set_labels: env}]`, /set_labels must be a list/],
    ['labels: [env]', /labels must be a mapping/],
    ['guardrails: {ask_timeout: 0}', /ask_timeout must be a number of seconds > 0/],
    ['ask_timeout: soon', /ask_timeout must be a number of seconds > 0/],
    ['labels: {env: dev}', /labels.env must be a mapping/],
    ['labels: {env: {initial: x, values: [a, b]}}', /labels.env.initial must be one of/],
  ])('should refuse %s', (yaml, message) => {
    expect(() => parseAgentSpec(`name: a\n${yaml}`)).toThrow(AgentSpecError);
    expect(() => parseAgentSpec(`name: a\n${yaml}`)).toThrow(message);
  });
});
