// Its own module so that `auth.ts` (used by the schema builder) can name the context without
// importing the subgraph definition types, which name the schema options: no import circle.
import type { Identity } from './identity';
import type { Logger } from './logger';

/** What every resolver of every subgraph gets in its context. */
export interface RequestContext {
  readonly requestId: string;
  readonly log: Logger;
  readonly identity: Identity;
  /** The client's `Idempotency-Key` header, forwarded by the gateway (booking mutations). */
  readonly idempotencyKey?: string | null;
}
