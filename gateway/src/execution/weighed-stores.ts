import type { QueryPlan, QueryPlanCache } from '@apollo/query-planner';
import { STORED_ENTRY_MAX_BYTES, WeighedStore } from '../../../runtime/document-store';
import { plannedOperationBytes } from './retained-size';

/** Query plans kept by Apollo's own executor (plan header, usage traces), estimated. */
export const QUERY_PLANS_MAX_BYTES = 16 * 1024 * 1024;
/** Apollo's gateway's own query plan cache, within {@link QUERY_PLANS_MAX_BYTES}. */
export function queryPlanStore(): QueryPlanCache & WeighedStore<QueryPlan> {
  return new WeighedStore<QueryPlan>(QUERY_PLANS_MAX_BYTES, STORED_ENTRY_MAX_BYTES, (plan) =>
    plannedOperationBytes(0, plan),
  );
}
