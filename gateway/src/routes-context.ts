import type { Express } from 'express';
import type { Server } from 'node:http';
import type { RedisClient } from '../../runtime/redis';
import type { AppConfig } from '../../runtime/config';
import type { Disposer } from '../../runtime/http-service';
import type { Logger } from '../../runtime/logger';
import type { Authenticator } from './authenticate';
import type { ExecutionGateway } from './execution/execution-gateway';

/**
 * What the gateway hands to the modules that mount routes of their own (the partner graph,
 * the seat map page): everything is started; whatever they start is registered with `defer`.
 */
export interface GatewayRoutesContext {
  readonly app: Express;
  readonly httpServer: Server;
  readonly config: AppConfig;
  readonly log: Logger;
  /** Commands; absent on the embedded default without Redis. */
  readonly redis: RedisClient | undefined;
  readonly supergraphSdl: string;
  /** Where the gateway reaches each subgraph of the supergraph, by name (overrides applied). */
  readonly subgraphUrls: ReadonlyMap<string, string>;
  /** The private graph's gateway (its data sources, planner and caches). */
  readonly gateway: ExecutionGateway;
  readonly authenticate: Authenticator;
  readonly defer: (dispose: Disposer) => void;
}
