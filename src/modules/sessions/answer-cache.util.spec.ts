import { AnswerCache, CachedAnswer, encodedAnswer } from 'src/modules/sessions/answer-cache.util';

const answer = (version: string, json = 'x'.repeat(100)): CachedAnswer => ({
  version,
  json,
  etag: `"${version}"`,
});

describe(AnswerCache.name, () => {
  it('should hand an answer back only for the version it was stored under', () => {
    const cache = new AnswerCache(1_000_000);
    cache.set('a', answer('v1'));
    expect(cache.get('a', 'v1')?.version).toBe('v1');
    expect(cache.get('a', 'v2')).toBeUndefined();
    // A stale answer is dropped with its bytes.
    expect(cache.get('a', 'v1')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.usedBytes).toBe(0);
  });

  it('should replace the answer of a slot without counting the old bytes', () => {
    const cache = new AnswerCache(1_000_000);
    cache.set('a', answer('v1'));
    const one = cache.usedBytes;
    cache.set('a', answer('v2'));
    expect(cache.usedBytes).toBe(one);
    expect(cache.get('a', 'v2')?.version).toBe('v2');
  });

  it('should stay within its bytes, dropping the least recently used first', () => {
    const probe = new AnswerCache(1_000_000);
    probe.set('a', answer('v1'));
    const cache = new AnswerCache(probe.usedBytes * 2);
    cache.set('a', answer('v1'));
    cache.set('b', answer('v1'));
    expect(cache.get('a', 'v1')).toBeDefined();
    cache.set('c', answer('v1'));
    expect(cache.size).toBe(2);
    expect(cache.usedBytes).toBeLessThanOrEqual(probe.usedBytes * 2);
    expect(cache.get('b', 'v1')).toBeUndefined();
    expect(cache.get('a', 'v1')).toBeDefined();
    expect(cache.get('c', 'v1')).toBeDefined();
  });

  it('should not keep an answer larger than the whole cache', () => {
    const cache = new AnswerCache(1_000);
    cache.set('a', answer('v1', 'x'.repeat(1_000)));
    expect(cache.size).toBe(0);
    expect(cache.usedBytes).toBe(0);
  });

  it('should hold the UTF-8 bytes of the answers it holds, and only while it does', () => {
    const json = JSON.stringify({ title: 'é ☃', n: Math.random() });
    const cache = new AnswerCache(1_000_000);
    cache.set('a', answer('v1', json));
    expect(encodedAnswer(json)).toEqual(Buffer.from(json, 'utf8'));
    // Its bytes count towards the bound.
    expect(cache.usedBytes).toBeGreaterThan(json.length * 2 + Buffer.byteLength(json));
    // A second holder (another slot or cache) keeps them when the first lets go.
    const other = new AnswerCache(1_000_000);
    other.set('b', answer('v1', json));
    cache.set('a', answer('v2', 'other'));
    expect(encodedAnswer(json)).toBeDefined();
    expect(other.get('b', 'v2')).toBeUndefined();
    expect(encodedAnswer(json)).toBeUndefined();
    expect(encodedAnswer('other')).toBeDefined();
    cache.delete('a');
    expect(encodedAnswer('other')).toBeUndefined();
  });

  it('should not hold the bytes of an answer it does not keep', () => {
    const json = 'y'.repeat(1_000);
    new AnswerCache(1_000).set('a', answer('v1', json));
    expect(encodedAnswer(json)).toBeUndefined();
  });
});
