import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { ExecutionGateway, SupergraphGeneration } from '../execution/execution-gateway';
import { operationNotSelected } from '../execution/operation-refusals';
import type { GatewayExecutionResult, GatewayRequestContext } from '../execution/plan-executor';
import { rootTypeOf } from './known-operation-types';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** A contract's gateway, which follows the supergraph: {@link ContractGateway.update}. */
export interface ContractGateway extends GatewayInterface {
  /**
   * Serves `schema` (the contract derived from the supergraph the private graph serves now)
   * from now on: Apollo Server validates new requests against it, and they run on the private
   * graph's current generation; requests validated against the previous contract schema
   * finish on the generation it came with.
   */
  update(schema: GraphQLSchema, supergraphSdl: string): void;
}

/**
 * Apollo Server's gateway for a contract of the supergraph (the public graph): Apollo parses,
 * validates, introspects and limits against the contract's schema, and operations run on
 * the private graph's `ExecutionGateway`: one planner, one plan cache, the same data sources
 * (keep-alive pools) and catalog cache. What passes validation against the contract is an
 * operation of the whole API schema too, planned and fetched alike.
 *
 * Two things keep the graphs apart. Operations are prepared per document, and a prepared
 * operation answers `__schema`/`__type` from the schema it was prepared against: the
 * contract's documents are kept under their own name, so an introspection query never
 * gets the private graph's answer. And they go to the shared executor directly, never to
 * Apollo's own (which `ExecutionGateway` uses for query plans asked for by header and for
 * usage traces), which would introspect the whole API schema. An operation type the
 * contract lacks (a mutation) never reaches the planner.
 */
export function contractGateway(
  gateway: ExecutionGateway,
  schema: GraphQLSchema,
  supergraphSdl: string,
  contractName: string,
): ContractGateway {
  /** Each contract schema served, with the private graph's generation it was derived from. */
  const generations = new WeakMap<GraphQLSchema, SupergraphGeneration>();
  let current = { schema, supergraphSdl };
  const execute = (requestContext: GatewayRequestContext): Promise<GatewayExecutionResult> => {
    // Apollo Server calls its executor without an operation when it selected none: answered
    // OPERATION_RESOLUTION_FAILURE with graphql-js's error, as the private graph answers it.
    const notSelected = operationNotSelected(requestContext);
    if (notSelected) return Promise.resolve(notSelected);
    const validatedAgainst = requestContext.schema;
    // Validation refuses these (`KnownOperationTypesRule`); planned against the whole API
    // schema, one would run what the contract does not have.
    if (!rootTypeOf(validatedAgainst, requestContext.operation.operation)) {
      const operation = requestContext.operation.operation;
      return Promise.resolve({ errors: [new GraphQLError(`This graph has no ${operation}s.`)] });
    }
    return gateway.executeShared(
      { ...requestContext, queryHash: `${contractName}\n${requestContext.queryHash}` },
      generations.get(validatedAgainst),
    );
  };
  let announce: Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0] | undefined;
  return {
    update(schema, supergraphSdl) {
      current = { schema, supergraphSdl };
      generations.set(schema, gateway.currentGeneration);
      announce?.({ apiSchema: schema, coreSupergraphSdl: supergraphSdl });
    },
    onSchemaLoadOrUpdate(callback) {
      announce = callback;
      return () => {
        announce = undefined;
      };
    },
    load() {
      generations.set(current.schema, gateway.currentGeneration);
      announce?.({ apiSchema: current.schema, coreSupergraphSdl: current.supergraphSdl });
      return Promise.resolve({ schema: current.schema, executor: execute });
    },
    stop: () => Promise.resolve(),
  };
}
