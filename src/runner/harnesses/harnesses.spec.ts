import { EchoHarness } from 'src/runner/harnesses/echo.harness';
import { HARNESS_NAMES, createHarness } from 'src/runner/harnesses/harnesses';
import { OpenAiHarness } from 'src/runner/harnesses/openai.harness';

describe(createHarness.name, () => {
  it('should create every listed harness under its own name', () => {
    for (const name of HARNESS_NAMES) {
      expect(createHarness(name)?.name).toBe(name);
    }
    expect(createHarness('echo')).toBeInstanceOf(EchoHarness);
    expect(createHarness('openai')).toBeInstanceOf(OpenAiHarness);
  });

  it('should return null for a harness this runner lacks', () => {
    expect(createHarness('claude-code')).toBeNull();
  });
});
