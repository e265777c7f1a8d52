import {
  baseType,
  EnumType,
  errorCauses,
  INACCESSIBLE_VERSIONS,
  inaccessibleIdentity,
  InputObjectType,
  InterfaceType,
  isInputObjectType,
  ObjectType,
  ScalarType,
  Supergraph,
  tagIdentity,
  UnionType,
  type FieldDefinition,
  type NamedType,
  type Schema,
  type SchemaElement,
} from '@apollo/federation-internals';
import { type GraphQLSchema } from 'graphql';
import { PUBLIC_TAG, PUBLIC_TAG_NAME } from '../../../runtime/contracts/partner-graph';

/* eslint-disable @typescript-eslint/no-explicit-any -- federation-internals' element types */
type Element = SchemaElement<any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * The public API schema of a supergraph: the contract variant that keeps what the subgraphs
 * tagged `@tag(name: "public")` (`runtime/contracts/partner-graph.ts`), derived the way
 * Apollo's contracts are. Every element left out is marked `@inaccessible` in a copy of the
 * supergraph, whose API schema is then computed as for the whole graph: federation's own
 * removal of inaccessible elements, with its checks (a public field whose type is not public,
 * a public type without a public field) failing the derivation, naming the elements.
 *
 * What is public:
 * - an object, interface or union type tagged public; of it, the fields tagged public
 *   (the root `Query` needs no tag, only its fields; `Mutation` and `Subscription` go
 *   when none of their fields is public);
 * - enums, scalars and input types that a public field or argument uses (the tag cannot be
 *   put on enums from type-graphql, and they describe values rather than hold data);
 * - every argument of a public field, every value of a public enum and every field of a
 *   public input type: they belong to what is public.
 *
 * @returns null when the supergraph tags no field of `Query` public: it has no public graph.
 * @throws when what is tagged does not make a valid schema, naming the elements at fault.
 */
export function publicApiSchema(supergraph: Supergraph | string): GraphQLSchema | null {
  const built = typeof supergraph === 'string' ? Supergraph.build(supergraph) : supergraph;
  const schema = built.schema.clone();
  const features = schema.coreFeatures;
  const tag = features?.getByIdentity(tagIdentity);
  if (!features || !tag) return null;
  const tagName = tag.directiveNameInSchema('tag');
  const isTagged = (element: Element) =>
    element
      .appliedDirectivesOf(tagName)
      .some((directive) => (directive.arguments() as { name?: unknown }).name === PUBLIC_TAG_NAME);

  const inaccessible = inaccessibleDirectiveName(schema);
  const hide = (element: Element) => {
    if (!element.hasAppliedDirective(inaccessible)) element.applyDirective(inaccessible);
  };

  const ownTypes = schema
    .types()
    .filter((type) => !type.isBuiltIn && !features.sourceFeature(type));
  const queryType = schema.schemaDefinition.rootType('query');
  const rootTypes = new Set<NamedType | undefined>([
    queryType,
    schema.schemaDefinition.rootType('mutation'),
    schema.schemaDefinition.rootType('subscription'),
  ]);
  const publicFields: FieldDefinition<ObjectType | InterfaceType>[] = [];
  for (const type of ownTypes) {
    if (type instanceof ObjectType || type instanceof InterfaceType) {
      const isRoot = rootTypes.has(type);
      if (!isRoot && !isTagged(type)) {
        hide(type);
        continue;
      }
      const fields = type.fields().filter((field) => isTagged(field));
      for (const field of type.fields()) if (!fields.includes(field)) hide(field);
      publicFields.push(...fields);
      if (isRoot && type !== queryType && fields.length === 0) hide(type);
    } else if (type instanceof UnionType && !isTagged(type)) {
      hide(type);
    }
  }
  if (!queryType || !publicFields.some((field) => field.parent === queryType)) return null;

  // The values that public fields and arguments carry.
  const used = new Set<NamedType>();
  const use = (type: NamedType) => {
    if (used.has(type)) return;
    used.add(type);
    if (isInputObjectType(type)) {
      for (const field of type.fields()) use(baseType(field.type!));
    }
  };
  for (const field of publicFields) {
    use(baseType(field.type!));
    for (const argument of field.arguments()) use(baseType(argument.type!));
  }
  for (const type of ownTypes) {
    const isValue =
      type instanceof EnumType || type instanceof ScalarType || type instanceof InputObjectType;
    if (isValue && !used.has(type)) hide(type);
  }

  try {
    return schema.toAPISchema().toGraphQLJSSchema();
  } catch (err) {
    const causes = errorCauses(err as Error) ?? [err as Error];
    // Federation's words for what is left out, in the tag's terms.
    const told = causes.map((cause) =>
      cause.message.replace(/@inaccessible/g, 'not public').replace(/in the API schema/g, 'public'),
    );
    throw new Error(
      `The public graph (types and fields tagged ${PUBLIC_TAG}) is not a valid schema: ` +
        `${told.join('; ')} (a public field's type must be public too, and a public type ` +
        'needs a public field)',
    );
  }
}

/** The name of `@inaccessible` in the supergraph, linking the spec first when it is not. */
function inaccessibleDirectiveName(schema: Schema): string {
  const features = schema.coreFeatures!;
  let feature = features.getByIdentity(inaccessibleIdentity);
  if (!feature) {
    const errors = features.coreDefinition.applyFeatureToSchema(
      schema,
      INACCESSIBLE_VERSIONS.latest(),
      undefined,
      'SECURITY',
    );
    if (errors.length > 0) throw errors[0];
    feature = features.getByIdentity(inaccessibleIdentity)!;
  }
  return feature.directiveNameInSchema('inaccessible');
}
