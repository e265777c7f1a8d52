/**
 * Hive Gateway's configuration file for the peers benchmark, passed to its CLI with
 * `--config-path` (it imports the compiled module and reads `gatewayConfig`). Everything but
 * the identity plugin stays at Hive Gateway's defaults; the benchmark hands the plugin its
 * settings through the environment.
 */
import type { GatewayCLIConfig } from '@graphql-hive/gateway';
import { HIVE_SETTINGS_ENV, hiveIdentityPlugin, readHiveSettings } from './hive-identity-plugin';

const settings = readHiveSettings(process.env[HIVE_SETTINGS_ENV]);

export const gatewayConfig: GatewayCLIConfig = {
  plugins: () => [hiveIdentityPlugin(settings)],
};
