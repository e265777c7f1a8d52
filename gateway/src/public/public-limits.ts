import type { AppConfig } from '../../../runtime/config';
import type { OperationLimits } from '../../../runtime/query-limits';

/**
 * The public graph's shape limits: stricter than the private graph's, as partners are many
 * and anonymous to the subgraphs. The contract's PartnerListings costs about 1,800 (its 100
 * showtimes, 18 fields each); a page of 500 showtimes with their movie and cinema, about
 * 7,500, still passes, two such lists in one operation do not. Never looser than the private
 * graph's own (`QUERY_MAX_*`).
 */
export const PUBLIC_OPERATION_LIMITS: OperationLimits = {
  maxDepth: 8,
  maxFields: 300,
  maxAliases: 20,
  maxCost: 12_000,
};

export function publicOperationLimits(limits: AppConfig['limits']): OperationLimits {
  return {
    maxDepth: Math.min(limits.maxDepth, PUBLIC_OPERATION_LIMITS.maxDepth),
    maxFields: Math.min(limits.maxFields, PUBLIC_OPERATION_LIMITS.maxFields),
    maxAliases: Math.min(limits.maxAliases, PUBLIC_OPERATION_LIMITS.maxAliases),
    maxCost: Math.min(limits.maxCost, PUBLIC_OPERATION_LIMITS.maxCost),
  };
}
