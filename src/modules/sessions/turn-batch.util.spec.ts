import { TurnBatch } from 'src/modules/sessions/turn-batch.util';

/** A run that records each batch it is given and answers when told to. */
function recordingRun() {
  const calls: { keys: string[]; answer: (values: Record<string, number>) => void }[] = [];
  const run = (batch: Map<string, string>) =>
    new Promise<Map<string, number>>((resolve) => {
      calls.push({
        keys: [...batch.keys()],
        answer: (values) => resolve(new Map(Object.entries(values))),
      });
    });
  return { calls, run };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe(TurnBatch.name, () => {
  it('should run the loads of one turn together, once per key', async () => {
    const { calls, run } = recordingRun();
    const batch = new TurnBatch(run);
    const a1 = batch.load('a', 'x');
    const b = batch.load('b', 'y');
    const a2 = batch.load('a', 'x');
    expect(calls).toHaveLength(0);
    await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b']]);
    calls[0].answer({ a: 1, b: 2 });
    expect(await Promise.all([a1, b, a2])).toEqual([1, 2, 1]);
  });

  it('should never let a load join a batch already dispatched', async () => {
    const { calls, run } = recordingRun();
    const batch = new TurnBatch(run);
    const early = batch.load('a', 'x');
    await nextTurn();
    // The statement for 'a' is out (not answered yet); the same key again must not share it.
    expect(calls).toHaveLength(1);
    const late = batch.load('a', 'x');
    await nextTurn();
    expect(calls.map((c) => c.keys)).toEqual([['a'], ['a']]);
    calls[1].answer({ a: 20 });
    calls[0].answer({ a: 10 });
    expect(await early).toBe(10);
    expect(await late).toBe(20);
  });

  it('should not join a batch from inside its own dispatch', async () => {
    const calls: string[][] = [];
    let inner: Promise<number> | undefined;
    const batch: TurnBatch<string, number> = new TurnBatch(async (keys) => {
      calls.push([...keys.keys()]);
      inner ??= batch.load('a', 'x');
      return new Map([['a', calls.length]]);
    });
    const outer = batch.load('a', 'x');
    expect(await outer).toBe(1);
    expect(await inner).toBe(2);
    expect(calls).toEqual([['a'], ['a']]);
  });

  it('should answer each key on its own when the run answers with a promise per key', async () => {
    const batch = new TurnBatch<string, Promise<number>>(async (keys) => {
      const answers = new Map<string, Promise<number>>();
      for (const key of keys.keys()) {
        answers.set(key, key === 'bad' ? Promise.reject(new Error('bad')) : Promise.resolve(1));
      }
      return answers;
    });
    const good = batch.load('good', 'x');
    const bad = batch.load('bad', 'y');
    await expect(bad).rejects.toThrow('bad');
    expect(await good).toBe(1);
  });

  it('should reject every load of a batch whose run fails, and go on with the next', async () => {
    let fail = true;
    const batch = new TurnBatch<string, number>(async () => {
      if (fail) {
        throw new Error('boom');
      }
      return new Map([['a', 1]]);
    });
    const loads = [batch.load('a', 'x'), batch.load('b', 'y')];
    await expect(loads[0]).rejects.toThrow('boom');
    await expect(loads[1]).rejects.toThrow('boom');
    fail = false;
    expect(await batch.load('a', 'x')).toBe(1);
    expect(await batch.load('b', 'y')).toBeUndefined();
  });
});
