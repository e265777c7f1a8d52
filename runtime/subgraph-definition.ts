// The subgraph contract, types only: subgraphs and the start-up code import it without
// pulling in the server, and the server imports it without an import circle.
import type { Router } from 'express';
import type { RedisClient } from './redis';
import type { DataSource } from 'typeorm';
import type { AppConfig, SubgraphName } from './config';
import type { ClassType } from './database';
import type { EventTransport } from './events/transport';
import type { FederatedSchemaOptions } from './federation';
import type { Logger } from './logger';
import type { ClosablePubSub } from './pubsub';
import type { RequestContext } from './request-context';

// Re-exported (types only, no circle) so that a subgraph's wiring finds its contract in one place.
export type { RequestContext } from './request-context';

/** What a subgraph's domain code is built from, once per process. */
export interface SubgraphDeps {
  readonly config: AppConfig;
  readonly dataSource: DataSource;
  readonly redis?: RedisClient;
  readonly pubSub: ClosablePubSub;
  /** Streams between subgraphs (outbox relay → consumers): Redis, or in-process. */
  readonly events: EventTransport;
  readonly log: Logger;
}

/**
 * A subgraph reduced to its domain: schema, storage, and how to build its services and its
 * per-request context. The shared runtime does the rest (database, server, health, shutdown).
 */
export interface SubgraphDefinition<Ctx extends RequestContext = RequestContext, App = unknown> {
  readonly name: SubgraphName;
  readonly schema: FederatedSchemaOptions<Ctx>;
  readonly entities: ClassType[];
  readonly migrations: ClassType[];
  createApp(deps: SubgraphDeps): App;
  /** Per request: DataLoaders live here so that they never cache across requests. */
  createContext(base: RequestContext, app: App): Ctx;
  /**
   * Internal HTTP routes under `/internal`, for other services only: every request must carry
   * a valid identity header naming a calling service (never an end user's token).
   */
  mountInternalRoutes?(router: Router, app: App): void;
  /** Background work (outbox relays, event consumers); returns how to stop each. */
  startWorkers?(app: App, deps: SubgraphDeps): Array<() => Promise<void>>;
}

/** A RequestContext-typed alias that lets definitions of any context type be listed together. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySubgraphDefinition = SubgraphDefinition<any, any>;
