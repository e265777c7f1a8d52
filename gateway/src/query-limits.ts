import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export interface QueryLimits {
  /** Deepest nesting of fields (the contract's deepest operation needs 6). */
  maxDepth: number;
  /** Most field selections in one operation, fragments expanded, aliases counted. */
  maxFields: number;
}

export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxDepth: 12, maxFields: 1500 };

/** Depth and field count of the operation, fragments expanded (cycles are already invalid). */
export function measure(document: DocumentNode, operationName?: string | null) {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const operation = document.definitions.find(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName),
  );
  let fields = 0;
  const walk = (set: SelectionSetNode, depth: number, seen: Set<string>): number => {
    let deepest = depth;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        fields += 1;
        if (selection.selectionSet) {
          deepest = Math.max(deepest, walk(selection.selectionSet, depth + 1, seen));
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        deepest = Math.max(deepest, walk(selection.selectionSet, depth, seen));
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !seen.has(fragment.name.value)) {
          deepest = Math.max(
            deepest,
            walk(fragment.selectionSet, depth, new Set([...seen, fragment.name.value])),
          );
        }
      }
    }
    return deepest;
  };
  const depth =
    operation && operation.kind === Kind.OPERATION_DEFINITION
      ? walk(operation.selectionSet, 1, new Set())
      : 0;
  return { depth, fields };
}

/**
 * Refuses operations nested deeper or selecting more fields than any client needs
 * (`QUERY_TOO_COMPLEX`), before a single subgraph is called: a cheap guard against queries
 * like movie → showtimes → movie → showtimes ... built to exhaust the services.
 */
export function queryLimitsPlugin(limits: QueryLimits = DEFAULT_QUERY_LIMITS): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName }) {
          const { depth, fields } = measure(document, operationName);
          if (depth > limits.maxDepth || fields > limits.maxFields) {
            throw new GraphQLError(
              `The operation is too complex (depth ${depth}, max ${limits.maxDepth}; ` +
                `${fields} fields, max ${limits.maxFields})`,
              { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
