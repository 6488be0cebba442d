import { CommittedRows } from 'src/modules/sessions/committed-rows.util';
import { SessionEntity } from 'src/modules/sessions/session.entity';

describe(CommittedRows.name, () => {
  const row = (id: string) => ({ id }) as SessionEntity;

  it('should give back the row and version last set for a session', () => {
    const rows = new CommittedRows();
    rows.set('a', row('a'), '10');
    rows.set('a', { ...row('a'), title: 'x' }, '11');
    expect(rows.get('a')).toEqual({
      row: { id: 'a', title: 'x' },
      version: '11',
      at: expect.any(Number),
    });
    expect(rows.get('b')).toBeUndefined();
    rows.delete('a');
    expect(rows.get('a')).toBeUndefined();
  });

  it('should forget a row after 30 s, long before its version could be reused', () => {
    let now = 1_000;
    const rows = new CommittedRows(() => now);
    rows.set('a', row('a'), '10');
    now += 30_000;
    expect(rows.get('a')?.version).toBe('10');
    now += 1;
    expect(rows.get('a')).toBeUndefined();
    expect(rows.size).toBe(0);
  });

  it('should hold at most 2,048 sessions, dropping the least recently set', () => {
    const rows = new CommittedRows();
    for (let i = 0; i < 2_049; i++) {
      rows.set(`s${i}`, row(`s${i}`), String(i));
    }
    expect(rows.size).toBe(2_048);
    expect(rows.get('s0')).toBeUndefined();
    expect(rows.get('s1')?.version).toBe('1');
    rows.set('s1', row('s1'), '5000');
    rows.set('t', row('t'), '1');
    expect(rows.get('s1')?.version).toBe('5000');
    expect(rows.get('s2')).toBeUndefined();
  });
});
