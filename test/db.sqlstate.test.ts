// The one SQLSTATE table (db/sqlstate.ts) and how the drain reads it.
import { describe, expect, it } from 'vitest';
import { databaseErrorKind, dataErrorCode } from '../db/sqlstate.ts';
import { BatchFailedError, isPermanentError, isTransientError } from '../worker/drain/errors.ts';

const pgError = (code: string, message = 'failed') => Object.assign(new Error(message), { code });

describe('database error kinds', () => {
  it('classifies by SQLSTATE code, then by class', () => {
    expect(databaseErrorKind(pgError('40001'))).toBe('transient');
    expect(databaseErrorKind(pgError('57P01'))).toBe('transient');
    expect(databaseErrorKind(pgError('08006'))).toBe('transient');
    expect(databaseErrorKind(pgError('22P02'))).toBe('data');
    expect(databaseErrorKind(pgError('23505'))).toBe('data');
    expect(databaseErrorKind(pgError('54001'))).toBe('data');
    expect(databaseErrorKind(pgError('08P01'))).toBe('other');
    expect(databaseErrorKind(pgError('42P01'))).toBe('other');
    expect(databaseErrorKind(pgError('DS001'))).toBe('other');
  });

  it('knows lost connections by their Node code, or by message only without a code', () => {
    expect(databaseErrorKind(pgError('ECONNRESET'))).toBe('transient');
    expect(databaseErrorKind(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(databaseErrorKind(pgError('23505', 'Connection terminated'))).toBe('data');
    expect(databaseErrorKind(new Error('something else'))).toBe('other');
  });

  it('follows the cause chain to the first error it knows', () => {
    const wrapped = new BatchFailedError(['e1'], pgError('40P01'));
    expect(databaseErrorKind(wrapped)).toBe('transient');
    expect(databaseErrorKind(new Error('outer', { cause: pgError('22021') }))).toBe('data');
  });

  it('names the code of a data error of the error itself only', () => {
    expect(dataErrorCode(pgError('54001'))).toBe('54001');
    expect(dataErrorCode(pgError('40001'))).toBeUndefined();
    expect(dataErrorCode(new Error('outer', { cause: pgError('22021') }))).toBeUndefined();
  });
});

describe('the drain reads the same table', () => {
  it('retries transient errors, parks data errors and RangeErrors at once, counts the rest', () => {
    expect(isTransientError(pgError('40001'))).toBe(true);
    expect(isPermanentError(pgError('40001'))).toBe(false);
    expect(isPermanentError(pgError('54001'))).toBe(true);
    expect(isPermanentError(new BatchFailedError(['e1'], pgError('22P02')))).toBe(true);
    expect(
      isPermanentError(
        new BatchFailedError(['e1'], new RangeError('Maximum call stack size exceeded')),
      ),
    ).toBe(true);
    expect(isPermanentError(new TypeError('x is undefined'))).toBe(false);
    expect(isTransientError(new TypeError('x is undefined'))).toBe(false);
  });
});
