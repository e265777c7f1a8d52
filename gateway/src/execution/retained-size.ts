import type { PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';

/**
 * Estimates, in bytes, of what the gateway's caches hold, for their weight budgets: their
 * keys come from clients, and so does the size of what they keep. A 14 KB document of 100
 * aliased fields, within every shape limit, plans into about 1.7 MB; a document padded with
 * a comment (comments are not tokens for the token limit) keeps all of its text. Upper
 * bounds fitted to heap measurements (`execution-gateway.test.ts` checks the plans' against
 * the heap), cheap enough to work out once per entry kept.
 */

/**
 * A planned operation: its document (the operation context keeps the AST, whose locations
 * keep every token), the planner's operation, the plan and its fetches' documents, the
 * compiled result shaping. Measured on the contract's operations and on alias-, fragment-
 * and `__typename`-heavy ones (V8, federation 2.14): 11–80 KB for the contract's, about
 * 45–90 bytes per character of the document and of the fetches' operations together, plus
 * some 10 KB whatever the size.
 */
const PLANNED_BASE_BYTES = 16 * 1024;
const PLANNED_BYTES_PER_CHAR = 96;

/** The estimated bytes a planned operation holds; `plan` absent: the document alone. */
export function plannedOperationBytes(documentLength: number, plan?: QueryPlan): number {
  return (
    PLANNED_BASE_BYTES + PLANNED_BYTES_PER_CHAR * (documentLength + fetchOperationsLength(plan))
  );
}

/** The length of every subgraph operation of a plan, together. */
export function fetchOperationsLength(plan: QueryPlan | undefined): number {
  let length = 0;
  const visit = (node: PlanNode | SubscriptionNode | undefined): void => {
    if (!node) return;
    switch (node.kind) {
      case 'Fetch':
        length += node.operation.length;
        return;
      case 'Sequence':
      case 'Parallel':
        for (const child of node.nodes) visit(child);
        return;
      case 'Flatten':
        return visit(node.node);
      case 'Condition':
        visit(node.ifClause);
        return visit(node.elseClause);
      case 'Defer':
        visit(node.primary.node);
        for (const deferred of node.deferred) visit(deferred.node);
        return;
      case 'Subscription':
        visit(node.primary);
        return visit(node.rest);
    }
  };
  visit(plan?.node);
  return length;
}

/**
 * A kept result: its object tree (1.4–3.6 bytes per character of its JSON, measured) and the
 * text it was serialized to, which `stringifyWithinCap` keeps beside it for as long as the
 * result lives (two bytes a character once any is outside Latin-1, as Vietnamese is).
 */
const RESULT_BYTES_PER_CHAR = 6;

/** The estimated bytes a kept result holds, from its JSON length and its key's length. */
export function cachedResultBytes(jsonLength: number, keyLength: number): number {
  return RESULT_BYTES_PER_CHAR * jsonLength + 2 * keyLength;
}

/**
 * About the length of `value` as JSON (a little over: every member counts a comma), or
 * some length over `limit` as soon as it is certain to be over it: the walk stops there, so
 * measuring a huge value costs no more than measuring one of `limit` characters.
 */
export function jsonLengthWithin(value: unknown, limit: number): number {
  let length = 0;
  const visit = (value: unknown): void => {
    if (length > limit) return;
    if (typeof value === 'string') {
      // Quotes, and escapes counted as the characters they stand for (a close bound).
      length += value.length + 2;
    } else if (typeof value === 'number') {
      length += String(value).length;
    } else if (typeof value === 'boolean' || value === null || value === undefined) {
      length += 5;
    } else if (Array.isArray(value)) {
      length += 1 + value.length;
      for (const item of value as unknown[]) {
        visit(item);
        if (length > limit) return;
      }
    } else if (typeof value === 'object') {
      length += 1;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        length += key.length + 4;
        visit(record[key]);
        if (length > limit) return;
      }
    } else {
      length += 5;
    }
  };
  visit(value);
  return length;
}
