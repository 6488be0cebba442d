import { AnswerCache, CachedAnswer } from 'src/modules/sessions/answer-cache.util';

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
});
