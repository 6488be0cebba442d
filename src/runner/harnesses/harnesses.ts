import { EchoHarness } from 'src/runner/harnesses/echo.harness';
import { Harness } from 'src/runner/harnesses/harness';
import { OpenAiHarness } from 'src/runner/harnesses/openai.harness';

/** Harness names this runner can run (`executor.harness` in an agent spec). */
export const HARNESS_NAMES = ['echo', 'openai'] as const;

/** A fresh harness for `executor.harness`, or null when this runner lacks it. */
export function createHarness(name: string): Harness | null {
  switch (name) {
    case 'echo':
      return new EchoHarness();
    case 'openai':
      return new OpenAiHarness();
    default:
      return null;
  }
}
