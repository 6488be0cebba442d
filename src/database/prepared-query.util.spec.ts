import { StatementNames, statementName } from 'src/database/prepared-query.util';

describe('StatementNames', () => {
  it('should name a text the same way every time, and in every instance', () => {
    const a = new StatementNames(10);
    const b = new StatementNames(10);

    expect(a.name('SELECT 1')).toMatch(/^omni_[0-9a-f]{24}$/);
    expect(a.name('SELECT 1')).toBe(a.name('SELECT 1'));
    expect(b.name('SELECT 1')).toBe(a.name('SELECT 1'));
    expect(a.name('SELECT 2')).not.toBe(a.name('SELECT 1'));
    expect(statementName('SELECT 1')).toBe(a.name('SELECT 1'));
  });

  it('should name no more texts than its budget: past it a new text runs unnamed', () => {
    const names = new StatementNames(2);
    const first = names.name('SELECT 1');
    const second = names.name('SELECT 2');

    expect(names.name('SELECT 3')).toBeUndefined();
    // The texts named before keep their names.
    expect(names.name('SELECT 1')).toBe(first);
    expect(names.name('SELECT 2')).toBe(second);
    expect(names.name('SELECT 3')).toBeUndefined();
  });
});
