import type { Express } from 'express';
import type { Server } from 'node:http';
import type { RedisClient } from '../../runtime/redis';
import type { AppConfig } from '../../runtime/config';
import type { Disposer } from '../../runtime/http-service';
import type { Logger } from '../../runtime/logger';
import type { Authenticator } from './authenticate';
import type { ExecutionGateway } from './execution/execution-gateway';
import type { LiveSupergraph } from './live-supergraph';

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
  /**
   * The composition served now (`current`: its SDL, and where the gateway reaches each of its
   * subgraphs, overrides applied), and `follow` for a part that must switch with it: a
   * supergraph reload changes it while the gateway runs.
   */
  readonly supergraph: LiveSupergraph;
  /** The private graph's gateway (its data sources, planner and caches). */
  readonly gateway: ExecutionGateway;
  readonly authenticate: Authenticator;
  readonly defer: (dispose: Disposer) => void;
}
