import { ScrollbackBuffer } from 'src/runner/terminals/scrollback';

const text = (buffer: ScrollbackBuffer) => buffer.snapshot().data.toString('utf8');

describe('ScrollbackBuffer', () => {
  it('should keep everything under the bound and count every byte', () => {
    const buffer = new ScrollbackBuffer(100);
    buffer.append(Buffer.from('$ echo hi\r\n'));
    buffer.append(Buffer.from('hi\r\n'));
    expect(text(buffer)).toBe('$ echo hi\r\nhi\r\n');
    expect(buffer.snapshot().end).toBe(15);
    expect(buffer.size).toBe(15);
  });

  it('should never keep more than its bound, dropping the oldest output', () => {
    const buffer = new ScrollbackBuffer(64);
    for (let i = 0; i < 1000; i++) {
      buffer.append(Buffer.from(`line ${i}\n`));
      expect(buffer.size).toBeLessThanOrEqual(64);
    }
    const kept = text(buffer);
    expect(kept.endsWith('line 999\n')).toBe(true);
    expect(kept).not.toContain('line 1\n');
    expect(buffer.end).toBe(Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join('').length);
  });

  it('should start a cut replay on a fresh line when one is near', () => {
    const buffer = new ScrollbackBuffer(10);
    buffer.append(Buffer.from('abcdef\n'));
    buffer.append(Buffer.from('ghij\n'));
    // 12 bytes > 10: the cut lands inside "abcdef\n", so the replay starts at "ghij".
    expect(text(buffer)).toBe('ghij\n');
  });

  it('should keep the tail of one chunk larger than the bound', () => {
    const buffer = new ScrollbackBuffer(8);
    buffer.append(Buffer.from('0123456789ABCDEF'));
    expect(text(buffer)).toBe('89ABCDEF');
    expect(buffer.end).toBe(16);
  });

  it('should ignore empty chunks and refuse a bad bound', () => {
    const buffer = new ScrollbackBuffer(8);
    buffer.append(Buffer.alloc(0));
    expect(buffer.snapshot()).toEqual({ data: Buffer.alloc(0), end: 0 });
    expect(() => new ScrollbackBuffer(0)).toThrow(RangeError);
  });

  it('should not be changed by a caller writing into an appended buffer', () => {
    const buffer = new ScrollbackBuffer(8);
    const chunk = Buffer.from('abc');
    buffer.append(chunk);
    chunk.write('xyz');
    expect(text(buffer)).toBe('abc');
  });
});
