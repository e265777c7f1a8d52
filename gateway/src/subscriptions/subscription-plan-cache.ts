import { buildOperationContext } from '@apollo/gateway';
import { operationFromDocument } from '@apollo/federation-internals';
import type { FetchNode, PlanNode, QueryPlan } from '@apollo/query-planner';
import { parse, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createHash } from 'node:crypto';
import { STORED_ENTRY_MAX_BYTES } from '../../../runtime/document-store';
import { LruCache } from '../../../runtime/lru-cache';
import { plannedOperationBytes } from '../execution/retained-size';
import type { SupergraphSchemas } from './supergraph-schemas';

/** Plans kept by default: enough for every operation of a client, bounded against the rest. */
export const DEFAULT_PLAN_CACHE_SIZE = 100;
/**
 * What the kept plans may hold together, estimated (`retained-size.ts`): a subscription
 * within every limit can plan into 2 MB, and 100 of those were 200 MB.
 */
export const DEFAULT_PLAN_CACHE_BYTES = 16 * 1024 * 1024;

/** What planning a subscription operation produced: computed once per document. */
export interface PreparedSubscription {
  /** Its key in the cache: the printed document and the operation name. */
  readonly cacheKey: string;
  readonly operation: OperationDefinitionNode;
  /** The document printed: the cache key, and the `source` the executor is given. */
  readonly source: string;
  readonly queryHash: string;
  /** The fetch that subscribes to the subgraph owning the root field. */
  readonly primary: FetchNode;
  /** `primary.operation` parsed: normalised per subscriber into its upstream request. */
  readonly primaryDocument: DocumentNode;
  /** The plan run per event: the primary fetch (answered from the event), then the rest. */
  readonly perEventPlan: QueryPlan;
  readonly operationContext: ReturnType<typeof buildOperationContext>;
}

/**
 * Plans subscription operations with the gateway's query planner, once per (printed document,
 * operation name); the least recently used plan is dropped beyond `capacity` plans or
 * `maxBytes` (estimated), so clients sending ever new documents cannot grow it without bound.
 */
export class SubscriptionPlanCache {
  private readonly plans: LruCache<
    string,
    { readonly prepared: PreparedSubscription; readonly bytes: number }
  >;
  /**
   * The same document object asked again (one parse shared by many subscribers): its key, so
   * no print. Keys only: the plans stay the LRU's, within its bytes.
   */
  private readonly byDocument = new WeakMap<DocumentNode, Map<string | null, string>>();

  constructor(
    private readonly schemas: SupergraphSchemas,
    capacity = DEFAULT_PLAN_CACHE_SIZE,
    maxBytes = DEFAULT_PLAN_CACHE_BYTES,
  ) {
    this.plans = new LruCache(capacity, { maxWeight: maxBytes, weigh: (kept) => kept.bytes });
  }

  /** How many plans are kept. */
  get size(): number {
    return this.plans.size;
  }

  /** What the kept plans hold, estimated. */
  get bytes(): number {
    return this.plans.totalWeight;
  }

  /**
   * The plan of `operation`, a subscription of `document` already validated against the API
   * schema. Throws when the planner fails or does not produce a subscription plan.
   */
  prepare(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    operationName: string | undefined,
  ): PreparedSubscription {
    let ofDocument = this.byDocument.get(document);
    const knownKey = ofDocument?.get(operationName ?? null);
    const known = knownKey === undefined ? undefined : this.plans.get(knownKey)?.prepared;
    if (known) return known;
    const source = print(document);
    const cacheKey = JSON.stringify([source, operationName ?? null]);
    const cached = this.plans.get(cacheKey)?.prepared;
    if (!ofDocument) {
      ofDocument = new Map();
      this.byDocument.set(document, ofDocument);
    }
    if (cached) {
      ofDocument.set(operationName ?? null, cacheKey);
      return cached;
    }

    const { apiSchema, schema, queryPlanner } = this.schemas;
    const plan = queryPlanner.buildQueryPlan(
      operationFromDocument(apiSchema, document, { operationName }),
    );
    const node = plan.node;
    if (node?.kind !== 'Subscription') {
      throw new Error(`expected a Subscription plan, got ${node?.kind ?? 'an empty plan'}`);
    }
    // executeQueryPlan refuses a top-level Subscription node; a Sequence starting with the
    // primary fetch is an ordinary plan, and the primary's data source will be the event.
    const perEventNode: PlanNode = node.rest
      ? { kind: 'Sequence', nodes: [node.primary, node.rest] }
      : node.primary;
    const prepared: PreparedSubscription = {
      cacheKey,
      operation,
      source,
      queryHash: createHash('sha256').update(source).digest('hex'),
      primary: node.primary,
      primaryDocument: parse(node.primary.operation),
      perEventPlan: { kind: 'QueryPlan', node: perEventNode },
      operationContext: buildOperationContext({
        schema,
        operationDocument: document,
        operationName,
      }),
    };
    const bytes = plannedOperationBytes(source.length, prepared.perEventPlan);
    // A plan estimated heavier is not kept: planned again at each subscribe.
    if (bytes <= STORED_ENTRY_MAX_BYTES) this.plans.set(cacheKey, { prepared, bytes });
    ofDocument.set(operationName ?? null, cacheKey);
    return prepared;
  }
}
