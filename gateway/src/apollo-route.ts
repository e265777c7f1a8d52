import type { GraphQLFormattedError } from 'graphql';
import type { AppConfig } from '../../runtime/config';
import { documentStore } from '../../runtime/document-store';
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
    formatError: (formatted: GraphQLFormattedError, error: unknown) =>
      formatError(clarifyParseError(clientCoded(formatted, error)), config.isProduction),
    // A huge document fails while parsing; a result over the cap is never sent.
    parseOptions: { maxTokens: config.limits.maxTokens },
    // Parsed documents kept by what they hold: Apollo's own store weighs them by their JSON,
    // a third of it (see runtime/document-store.ts). One store per server: this is called per server.
    documentStore: documentStore(),
    stringifyResult: stringifyWithinCap(config.limits.maxResponseBytes, {
      shareSerialization: true,
    }),
  } as const;
}

/**
 * An error Apollo Server answers with a 4xx status but no code (a persisted query's hash that
 * does not match its text, an unsupported persisted query version) is the client's: coded
 * BAD_REQUEST, not INTERNAL_SERVER_ERROR (which production would also mask).
 */
function clientCoded(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions
    ?.http?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_REQUEST' } };
}
