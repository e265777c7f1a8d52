import {
  getNamedType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type GraphQLSchema,
} from 'graphql';

/**
 * The names of the object, interface and union types whose fields one subgraph fetch reads
 * (its selections' parent types, the types its fragments name, what its fields return),
 * walked against the supergraph schema. An entity fetch (`_entities`, unknown to the
 * supergraph) is covered by the type conditions of its fragments (`... on Movie`).
 */
export function typesReadBy(schema: GraphQLSchema, operation: string): ReadonlySet<string> {
  const types = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    parse(operation),
    visitWithTypeInfo(typeInfo, {
      [Kind.FIELD]: () => {
        const parent = typeInfo.getParentType();
        if (parent) types.add(parent.name);
        const returned = typeInfo.getType();
        if (returned) types.add(getNamedType(returned).name);
      },
      [Kind.INLINE_FRAGMENT]: (node) => {
        if (node.typeCondition) types.add(node.typeCondition.name.value);
      },
      [Kind.FRAGMENT_DEFINITION]: (node) => {
        types.add(node.typeCondition.name.value);
      },
    }),
  );
  return types;
}
