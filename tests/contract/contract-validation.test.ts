import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, validate } from 'graphql';
import { projectRoot } from '../../runtime/paths';
import { contractOperations } from '../support/contract';

/**
 * Every client operation must validate against the composed API schema. The operations of
 * capabilities not built yet would be listed here: when one starts validating, this test
 * fails until it moves out of the list, so the list is always the truth about what is
 * missing. (Empty: StartPayment, the last one, came with the payments.)
 */
const NOT_BUILT_YET = new Set<string>([]);
// The partner operations validate here against the whole API schema; against the public
// schema, through /public/graphql with a key, in tests/e2e/partner-graph.test.ts.

const api = buildSchema(readFileSync(join(projectRoot(), 'schema', 'api.graphql'), 'utf8'));
const operations = contractOperations();

describe('the client contract against the supergraph', () => {
  it('has the operations this test knows', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
  });

  it.each(operations.map((op) => [`${op.file}:${op.name}`, op] as const))('%s', (key, op) => {
    const errors = validate(api, op.document).map((e) => e.message);
    if (NOT_BUILT_YET.has(key)) {
      expect(errors.length).toBeGreaterThan(0);
    } else {
      expect(errors).toEqual([]);
    }
  });
});
