import { POLICY_PUSH_WINDOW_MS, PolicyPushes } from 'src/runner/policy-pushes';

const OFF = { tool_call: false, tool_result: false };
const ON = { tool_call: true, tool_result: false };

describe(PolicyPushes.name, () => {
  let now: number;
  let sut: PolicyPushes;

  beforeEach(() => {
    now = 1_000_000;
    sut = new PolicyPushes(() => now);
  });

  it('should take the sent flags when nothing was pushed', () => {
    expect(sut.resolve('conv_1', ON)).toEqual(ON);
    expect(sut.resolve('conv_1', OFF)).toEqual(OFF);
  });

  it('should not let older flags undo a recent push that raised them', () => {
    sut.pushed('conv_1', ON);
    now += 1_000;
    expect(sut.resolve('conv_1', OFF)).toEqual(ON);
    expect(sut.resolve('conv_2', OFF)).toEqual(OFF);
  });

  it('should keep raised flags sent after a push that lowered them (fail closed)', () => {
    sut.pushed('conv_1', OFF);
    expect(sut.resolve('conv_1', ON)).toEqual(ON);
  });

  it('should trust the sent flags once the push is older than the window', () => {
    sut.pushed('conv_1', ON);
    now += POLICY_PUSH_WINDOW_MS + 1;
    expect(sut.resolve('conv_1', OFF)).toEqual(OFF);
  });

  it('should forget a session', () => {
    sut.pushed('conv_1', ON);
    sut.forget('conv_1');
    expect(sut.resolve('conv_1', OFF)).toEqual(OFF);
  });
});
