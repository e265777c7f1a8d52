import { parse } from 'graphql';
import { contractOperations } from '../../tests/support/contract';
import { DEFAULT_QUERY_LIMITS, measure } from './query-limits';

describe('query limits', () => {
  it('counts depth and fields, fragments expanded, introspection ignored', () => {
    const doc = parse(`
      query Q { movie(id: "1") { ...M a: title b: title __typename } }
      fragment M on Movie { showtimes { hall { cinema { name } } } }`);
    expect(measure(doc, 'Q')).toEqual({ depth: 5, fields: 7 });
  });

  it('lets every client operation of the contract through', () => {
    for (const op of contractOperations()) {
      const { depth, fields } = measure(op.document, op.name);
      expect(depth).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.maxDepth);
      expect(fields).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.maxFields);
    }
  });

  it('measures a query built to exhaust the services as too deep', () => {
    const nested = 'showtimes { movie { '.repeat(8) + 'id' + ' } }'.repeat(8);
    const { depth } = measure(parse(`{ movie(id: "1") { ${nested} } }`));
    expect(depth).toBeGreaterThan(DEFAULT_QUERY_LIMITS.maxDepth);
  });
});
