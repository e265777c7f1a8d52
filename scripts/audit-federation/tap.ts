/** One test case of an audit suite, as its TAP report gives it. */
export interface AuditCase {
  readonly name: string;
  readonly passed: boolean;
  /** The failure's report (the YAML block under `not ok`), for the log and the summary. */
  readonly details: string;
}

/** `ok 1 - name` / `not ok 1 - name # comment`, at any nesting depth. */
const RESULT_LINE = /^(\s*)(not ok|ok) \d+(?: - ([^#]*?))?\s*(?:#.*)?$/;

/**
 * The cases of a node:test TAP report (`--test-reporter=tap`), counted as the audit's own
 * runner counts them (its `dot` reporter): every passed or failed test but suites (a
 * `describe`, whose block says `type: 'suite'`). A test file that fails before declaring any
 * test (the suite's tests could not be fetched, say) is one failed case, as there.
 */
export function casesOfTap(report: string): AuditCase[] {
  const lines = report.split('\n');
  const cases: AuditCase[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = RESULT_LINE.exec(lines[i]);
    if (!match) continue;
    const [, indent, status, name = ''] = match;
    // The block under a result is indented two more than it, between `---` and `...`.
    const block: string[] = [];
    if (lines[i + 1]?.trim() === '---') {
      let j = i + 2;
      while (j < lines.length && lines[j].trim() !== '...') {
        block.push(lines[j].slice(indent.length + 2));
        j += 1;
      }
      i = j;
    }
    if (block.some((line) => /^type: '?suite'?$/.test(line))) continue;
    cases.push({ name: name.trim(), passed: status === 'ok', details: block.join('\n') });
  }
  return cases;
}
