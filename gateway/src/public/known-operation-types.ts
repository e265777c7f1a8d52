import { GraphQLError, OperationTypeNode, type GraphQLSchema, type ValidationRule } from 'graphql';

/** The root type of an operation type in a schema, if it has one. */
export function rootTypeOf(schema: GraphQLSchema, operation: OperationTypeNode) {
  return operation === OperationTypeNode.QUERY
    ? schema.getQueryType()
    : operation === OperationTypeNode.MUTATION
      ? schema.getMutationType()
      : schema.getSubscriptionType();
}

/**
 * Refuses an operation whose type the schema does not have (graphql-js 17's
 * KnownOperationTypesRule, missing from 16): without it a `mutation` sent to a graph that has
 * none passes validation, since no field of it is checked against anything. The public graph
 * answers queries only, and its operations are planned against the whole API schema.
 */
export const KnownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    if (!rootTypeOf(context.getSchema(), node.operation)) {
      context.reportError(
        new GraphQLError(`This graph has no ${node.operation}s.`, { nodes: node }),
      );
    }
  },
});
