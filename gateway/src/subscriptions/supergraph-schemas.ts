import { Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import type { GraphQLSchema } from 'graphql';
import { createHash } from 'node:crypto';
import type { GatewayRequestContext } from './gateway-types';

/** One supergraph in every form planning and executing a subscription needs. */
export interface SupergraphSchemas {
  /** The API schema as the planner and the executor take it. */
  readonly apiSchema: Schema;
  /** The API schema clients see: operations are validated against it. */
  readonly schema: GraphQLSchema;
  /** Every type and field of every subgraph: what the executor and upstream requests read. */
  readonly supergraphSchema: GraphQLSchema;
  readonly queryPlanner: QueryPlanner;
  readonly schemaHash: GatewayRequestContext['schemaHash'];
}

/** Builds the schemas and query planner of a composed supergraph SDL (the gateway's own). */
export function supergraphSchemas(supergraphSdl: string): SupergraphSchemas {
  const supergraph = Supergraph.build(supergraphSdl);
  const apiSchema = supergraph.apiSchema();
  return {
    apiSchema,
    schema: apiSchema.toGraphQLJSSchema(),
    supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
    queryPlanner: new QueryPlanner(supergraph),
    // Branded string in the gateway's types; only its identity matters.
    schemaHash: createHash('sha256')
      .update(supergraphSdl)
      .digest('hex') as GatewayRequestContext['schemaHash'],
  };
}
