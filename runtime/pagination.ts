import { Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { badUserInput } from './errors';
import { INHERITED_CACHE_HINT } from './cache-hints';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Relay PageInfo; every subgraph with connections defines the same shape, hence shareable. */
@ObjectType()
@Directive('@shareable')
@Directive(INHERITED_CACHE_HINT)
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  totalCount: number;
  pageInfo: PageInfo;
  edges: Edge<T>[];
}

/** Builds the `<Name>Connection` and `<Name>Edge` object types for a node type. */
export function connectionType<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  @Directive(INHERITED_CACHE_HINT)
  class EdgeType {
    @Field()
    cursor: string;

    @Field(() => node)
    node: T;
  }

  @ObjectType(`${name}Connection`)
  @Directive(INHERITED_CACHE_HINT)
  class ConnectionType {
    @Field(() => Int)
    totalCount: number;

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => [EdgeType])
    edges: EdgeType[];
  }
  return ConnectionType as ClassType<Connection<T>>;
}

/** Validates `first`: 1..100, default 20. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput('first', `first must be between 1 and ${MAX_PAGE_SIZE}`);
  }
  return first;
}

/** An opaque cursor: the sort key of the last row seen. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** What each part of a list's sort key is, so a forged cursor never reaches SQL. */
export type CursorPart = 'number' | 'date' | 'uuid' | 'timestamp';

const PART_CHECKS: Record<CursorPart, (v: unknown) => boolean> = {
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  date: (v) =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  uuid: (v) =>
    typeof v === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  timestamp: (v) =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(v) && !Number.isNaN(Date.parse(v)),
};

/** The sort key in a cursor, checked part by part; BAD_USER_INPUT on `after` otherwise. */
export function decodeCursor(cursor: string | null | undefined, parts: CursorPart[]) {
  if (cursor === null || cursor === undefined) return null;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(key) &&
      key.length === parts.length &&
      key.every((v, i) => PART_CHECKS[parts[i]](v))
    ) {
      return key as (string | number)[];
    }
  } catch {
    // fall through: a malformed cursor is the client's mistake, not ours
  }
  throw badUserInput('after', 'after is not a cursor this list produced');
}

/**
 * Turns `limit + 1` rows fetched after a cursor into a connection: the extra row only tells
 * whether there is a next page.
 */
export function toConnection<T>(
  rows: T[],
  limit: number,
  totalCount: number,
  keyOf: (row: T) => readonly (string | number)[],
): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    totalCount,
    edges,
    pageInfo: {
      hasNextPage: rows.length > limit,
      endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null,
    },
  };
}
