/**
 * The public partner graph (`/public/graphql`): which parts of the supergraph partners see.
 * The subgraphs tag them, composition carries the tags into the supergraph, and the gateway
 * derives the public API schema from those tags (`gateway/src/public/public-schema.ts`), the
 * way Apollo's contracts do. An object type is public when tagged, one of its fields when
 * tagged too: nothing is public by default, so a field added later stays private until
 * someone decides otherwise. Enums, scalars and input types need no tag: they are public when
 * a public field or argument uses them.
 */
export const PUBLIC_TAG_NAME = 'public';

/** The directive to put on a public type or field (`@Directive(PUBLIC_TAG)`). */
export const PUBLIC_TAG = `@tag(name: "${PUBLIC_TAG_NAME}")`;
