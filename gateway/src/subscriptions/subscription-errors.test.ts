import { GraphQLError, parse, Source } from 'graphql';
import {
  connectionLostErrors,
  errorResult,
  upstreamErrors,
  withCode,
  withPaths,
} from './subscription-errors';
import { recordingLogger } from './testing/fakes.fixture';

describe('upstreamErrors', () => {
  it("keeps the subgraph's GraphQL errors, naming the service and a code for each", () => {
    const log = recordingLogger();
    const errors = upstreamErrors(
      'cinemas',
      [
        { message: 'not yours', path: ['seatMap'], extensions: { code: 'FORBIDDEN', hint: 1 } },
        { message: '' },
      ],
      log,
    );
    expect(errors.map((e) => [e.message, e.path, e.extensions])).toEqual([
      ['not yours', ['seatMap'], { code: 'FORBIDDEN', hint: 1, serviceName: 'cinemas' }],
      [
        'Subscription to service "cinemas" failed',
        undefined,
        { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'cinemas' },
      ],
    ]);
    expect(log.lines).toEqual([]);
  });

  it('says only which service closed and how: where it lives is for the log', () => {
    const log = recordingLogger();
    const [closed] = upstreamErrors(
      'cinemas',
      { code: 1006, reason: 'connect ECONNREFUSED 10.0.0.7:4003' },
      log,
    );
    expect(closed.message).toBe('Subscription to service "cinemas" closed (code 1006)');
    expect(closed.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', serviceName: 'cinemas' });
    expect(log.lines.join('\n')).toContain('10.0.0.7:4003');

    const [failed] = upstreamErrors('cinemas', new Error('getaddrinfo ENOTFOUND db.internal'), log);
    expect(failed.message).toBe('Subscription to service "cinemas" failed');
    expect(failed.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', serviceName: 'cinemas' });
    expect(log.lines.join('\n')).toContain('db.internal');

    expect(upstreamErrors('cinemas', 'anything', log)[0].message).toBe(
      'Subscription to service "cinemas" failed',
    );
  });
});

describe('error results', () => {
  it('errorResult is one error with the code, keeping the cause', () => {
    const cause = new Error('planner broke');
    const { errors } = errorResult('Could not plan', 'QUERY_PLANNING_FAILED', cause);
    expect(errors).toHaveLength(1);
    expect(errors?.[0]).toMatchObject({
      message: 'Could not plan',
      extensions: { code: 'QUERY_PLANNING_FAILED' },
      originalError: cause,
    });
  });

  it('withCode adds the code and keeps locations and other extensions', () => {
    const document = parse(new Source('subscription { nope }'));
    const error = new GraphQLError('Cannot query field "nope"', {
      nodes: document.definitions,
      extensions: { detail: 'x' },
    });
    const [coded] = withCode([error], 'GRAPHQL_VALIDATION_FAILED').errors ?? [];
    expect(coded.locations).toEqual([{ line: 1, column: 1 }]);
    expect(coded.extensions).toEqual({ detail: 'x', code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it("withPaths puts paths in the subscriber's response keys and leaves pathless errors alone", () => {
    const located = new GraphQLError('broken', { path: ['ticks', 'note'], extensions: { a: 1 } });
    const pathless = new GraphQLError('gone');
    const mapped = withPaths([located, pathless], {
      toSubscriberPath: (path) => path.map((segment) => (segment === 'ticks' ? 'mine' : segment)),
    });
    expect(mapped[0]).toMatchObject({
      message: 'broken',
      path: ['mine', 'note'],
      extensions: { a: 1 },
    });
    expect(mapped[1]).toBe(pathless);
  });

  it('connectionLostErrors tells the subscriber to fetch the current state again', () => {
    const [lost] = connectionLostErrors('cinemas');
    expect(lost.message).toMatch(/events may have been missed: fetch the current state again/);
    expect(lost.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', serviceName: 'cinemas' });
  });
});
