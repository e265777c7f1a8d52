import { formatError } from './errors';

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
