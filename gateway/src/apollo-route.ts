import type { AppConfig } from '../../runtime/config';
import { formatError } from '../../runtime/errors';
import { clarifyParseError, stringifyWithinCap } from '../../runtime/query-limits';

/**
 * What every Apollo Server of the gateway (the private graph, the partner graph) sets alike:
 * our signal handling, coded and masked errors, the document and result size caps.
 */
export function gatewayApolloOptions(config: AppConfig) {
  return {
    // Signals are ours: stopOnSignals drains every service, then closes connections.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: !config.isProduction,
    formatError: (formatted: Parameters<typeof clarifyParseError>[0]) =>
      formatError(clarifyParseError(formatted), config.isProduction),
    // A huge document fails while parsing; a result over the cap is never sent.
    parseOptions: { maxTokens: config.limits.maxTokens },
    stringifyResult: stringifyWithinCap(config.limits.maxResponseBytes, {
      shareSerialization: true,
    }),
  } as const;
}
