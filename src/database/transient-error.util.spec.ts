import { isTransientDatabaseError } from 'src/database/transient-error.util';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe(isTransientDatabaseError.name, () => {
  it('should take a dropped connection for transient', () => {
    expect(
      isTransientDatabaseError(
        withCode('terminating connection due to administrator command', '57P01'),
      ),
    ).toBe(true);
    expect(isTransientDatabaseError(withCode('connection failure', '08006'))).toBe(true);
    expect(isTransientDatabaseError(withCode('read ECONNRESET', 'ECONNRESET'))).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isTransientDatabaseError(
        Object.assign(new Error('query failed'), { driverError: { code: '40P01' } }),
      ),
    ).toBe(true);
  });

  it('should never retry what the statement itself got wrong', () => {
    expect(isTransientDatabaseError(withCode('duplicate key value', '23505'))).toBe(false);
    expect(isTransientDatabaseError(withCode('invalid byte sequence', '22021'))).toBe(false);
    expect(isTransientDatabaseError(new Error('something else'))).toBe(false);
    expect(isTransientDatabaseError('Connection terminated')).toBe(false);
  });
});
