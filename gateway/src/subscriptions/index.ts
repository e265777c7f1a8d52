// The public API of the federated subscriptions module. Everything else in this folder is
// internal: its shape may change without notice.
export {
  FederatedSubscriptions,
  type FederatedSubscribeArgs,
  type FederatedSubscriptionsOptions,
  type SupergraphSwitch,
} from './federated-subscriptions';
export type { GatewayLogger } from './gateway-types';
export type { ResultSink } from './local-subscription';
export type { SubscriptionErrorCode } from './subscription-errors';
