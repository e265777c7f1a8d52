import { locatedError } from 'graphql';
import { AppError, formatError, withoutStackTrace } from './errors';

describe('formatError', () => {
  const internal = {
    message: 'relation "movies" does not exist',
    extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'], serviceName: 'movies' },
  };

  it('masks unexpected errors in production and keeps the service name', () => {
    expect(formatError(internal, true)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', serviceName: 'movies' },
    });
  });

  it('masks errors with an unregistered code in production', () => {
    const out = formatError({ message: 'secret', extensions: { code: 'WEIRD' } }, true);
    expect(out.message).toBe('Internal server error');
  });

  it('passes registered codes through, without the stack trace in production', () => {
    const domain = {
      message: 'first must be between 1 and 100',
      extensions: { code: 'BAD_USER_INPUT', field: 'first', stacktrace: ['at y'] },
    };
    expect(formatError(domain, true)).toEqual({
      message: domain.message,
      extensions: { code: 'BAD_USER_INPUT', field: 'first' },
    });
  });

  it('leaves everything as it is in development', () => {
    expect(formatError(internal, false)).toBe(internal);
  });
});

describe('errors that are answers carry no stack trace', () => {
  it('a domain error has its first line for a stack, and graphql-js keeps it when wrapping', () => {
    const error = new AppError('SEAT_UNAVAILABLE', 'Seat A1 is not available', { seatIds: ['a'] });
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(error.stack).toContain('Seat A1 is not available');
    expect(error.extensions).toEqual({ seatIds: ['a'], code: 'SEAT_UNAVAILABLE' });
    // What a resolver's thrown error becomes: the wrapper takes the original's stack.
    const located = locatedError(error, null, ['holdSeats']);
    expect(located.stack?.split('\n')).toHaveLength(1);
    expect(located.extensions.code).toBe('SEAT_UNAVAILABLE');
  });

  it('keeps the stack of an error that reports a fault (a service unreachable)', () => {
    const error = new AppError('SERVICE_UNAVAILABLE', 'cinemas could not be reached');
    expect(error.stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('leaves the stack trace limit as it was, also when building throws', () => {
    const before = Error.stackTraceLimit;
    expect(withoutStackTrace(() => new Error('x')).stack?.split('\n')).toHaveLength(1);
    expect(() =>
      withoutStackTrace(() => {
        throw new Error('failed');
      }),
    ).toThrow('failed');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('y').stack?.split('\n').length).toBeGreaterThan(1);
  });
});
