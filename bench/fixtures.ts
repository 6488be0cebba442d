/** Request bodies shared by `npm run bench` and its CI smoke (test/e2e/bench-smoke.e2e-spec.ts). */

/** `n` message items of ~300 bytes each, alternating user and assistant (100: ~30 KB of snapshot). */
export function history(n: number): Record<string, unknown>[] {
  const filler = 'lorem ipsum dolor sit amet '.repeat(3);
  return Array.from({ length: n }, (_, i) => ({
    type: 'message',
    data:
      i % 2 === 0
        ? { role: 'user', content: [{ type: 'input_text', text: `question ${i}: ${filler}` }] }
        : {
            role: 'assistant',
            content: [{ type: 'output_text', text: `answer ${i}: ${filler}`, annotations: [] }],
          },
  }));
}
