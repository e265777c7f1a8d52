import { casesOfTap } from './tap';

/** A suite's report as node:test prints it for the audit's test file (trimmed). */
const SUITE_REPORT = `TAP version 13
# Using gateway at     http://127.0.0.1:37875/graphql
# Subtest: keys-mashup
    # Subtest: keys-mashup_0
    not ok 1 - keys-mashup_0
      ---
      duration_ms: 97.090327
      failureType: 'testCodeFailure'
      error: |-
        Test failed for query
        - Expected
        + Received
        ok 7 - not a result: inside the block
      code: 'ERR_ASSERTION'
      ...
    # Subtest: keys-mashup_1
    ok 2 - keys-mashup_1
      ---
      duration_ms: 12.5
      ...
    1..2
not ok 1 - keys-mashup
  ---
  duration_ms: 120.1
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  ...
1..1
# tests 2
# suites 1
# pass 1
# fail 1
`;

/** The test file failed before declaring a test: the suite's tests could not be fetched. */
const FILE_FAILURE = `TAP version 13
# TypeError: fetch failed
# Subtest: /work/audit/src/test.ts
not ok 1 - /work/audit/src/test.ts
  ---
  duration_ms: 2736.916823
  failureType: 'testCodeFailure'
  exitCode: 1
  error: 'test failed'
  ...
1..1
`;

describe('casesOfTap: the audit cases of a node:test TAP report', () => {
  it('counts the tests, not the suite around them, with the failure report', () => {
    const cases = casesOfTap(SUITE_REPORT);
    expect(cases.map(({ name, passed }) => ({ name, passed }))).toEqual([
      { name: 'keys-mashup_0', passed: false },
      { name: 'keys-mashup_1', passed: true },
    ]);
    expect(cases[0].details).toContain('error: |-\n  Test failed for query\n  - Expected');
    expect(cases[0].details).toContain('ok 7 - not a result: inside the block');
  });

  it('counts a test file that failed before declaring any test as one failed case', () => {
    expect(casesOfTap(FILE_FAILURE)).toMatchObject([
      { name: '/work/audit/src/test.ts', passed: false },
    ]);
  });

  it('finds no case in a report without results', () => {
    expect(casesOfTap('TAP version 13\n# tests 0\n')).toEqual([]);
  });
});
