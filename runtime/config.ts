import { networkInterfaces } from 'node:os';
import { z } from 'zod';
import { clientIpOrNull } from './identity';

/**
 * The only module that reads `process.env`. Every variable of DESIGN.md section 5 is
 * validated here at start-up; all problems are reported at once.
 */

export const SUBGRAPH_NAMES = ['users', 'movies', 'cinemas', 'bookings'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];
export type ServiceName = SubgraphName | 'gateway' | 'local' | 'tool';

export const DEFAULT_PORTS: Record<SubgraphName | 'gateway', number> = {
  gateway: 4000,
  users: 4001,
  movies: 4002,
  cinemas: 4003,
  bookings: 4004,
};

const optionalUrl = z
  .string()
  .trim()
  .url()
  .optional()
  .or(z.literal('').transform(() => undefined));
const optionalString = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/**
 * `host:port` (`[v6]:port` for IPv6), port 1..65535: one node of a Redis Cluster. Shared
 * with `runtime/redis.ts`, which reads `redis+cluster://` URLs with it.
 */
export function parseHostPort(entry: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 1 && port <= 65535)) {
    throw new Error(`"${entry}" is not host:port`);
  }
  return { host: match[1] ?? match[2], port };
}

/** The problem with a comma-separated `host:port` list, if any. */
function hostPortListProblem(list: string): string | undefined {
  const entries = list.split(',').map((entry) => entry.trim());
  if (entries.length === 0 || entries.some((entry) => entry === '')) {
    return 'a comma-separated list of host:port, none empty';
  }
  for (const entry of entries) {
    try {
      parseHostPort(entry);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

/**
 * A Redis URL: `redis://`, `rediss://`, or a cluster's `redis+cluster://[user:pw@]host:port,
 * host:port` (what REDIS_CLUSTER_NODES turns into; `new URL` cannot read a list of hosts).
 */
const optionalRedisUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .superRefine((value, ctx) => {
    if (value === undefined) return;
    const cluster = /^redis\+cluster:\/\/(?:[^@]*@)?([^/?#]*)/i.exec(value);
    if (cluster) {
      const problem = hostPortListProblem(cluster[1]);
      if (problem)
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `cluster nodes: ${problem}` });
      return;
    }
    if (!z.string().url().safeParse(value).success) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'Invalid url' });
    }
  });

/** REDIS_CLUSTER_NODES: `host:port,host:port`, normalised (spaces dropped). */
const optionalHostPortList = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v))
  .superRefine((value, ctx) => {
    const problem = value === undefined ? undefined : hostPortListProblem(value);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  })
  .transform((v) => v?.split(',').map((entry) => entry.trim()));
const port = z.coerce.number().int().min(0).max(65535);
const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .optional()
  .transform((v) => (v === undefined ? undefined : ['true', '1', 'yes'].includes(v)));

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.optional(),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  USERS_URL: optionalUrl,
  MOVIES_URL: optionalUrl,
  CINEMAS_URL: optionalUrl,
  BOOKINGS_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  USERS_DATABASE_URL: optionalUrl,
  MOVIES_DATABASE_URL: optionalUrl,
  CINEMAS_DATABASE_URL: optionalUrl,
  BOOKINGS_DATABASE_URL: optionalUrl,
  DATABASE_NAME_PREFIX: z
    .string()
    .regex(/^[a-z0-9_]*$/, 'lowercase letters, digits and _ only')
    .default(''),
  // Two at least: migrations hold an advisory lock on one connection while running on another.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(2).max(200).default(10),
  REDIS_URL: optionalRedisUrl,
  // The startup nodes of a Redis Cluster (any live one is enough to find the rest; list a
  // few). Becomes `redis.url` as `redis+cluster://host:port,...`; set this or REDIS_URL.
  REDIS_CLUSTER_NODES: optionalHostPortList,
  REDIS_KEY_PREFIX: z.string().default('moviehub:'),
  CLERK_JWT_KEY: optionalString,
  CLERK_SECRET_KEY: optionalString,
  CLERK_WEBHOOK_SIGNING_SECRET: optionalString,
  CLERK_AUTHORIZED_PARTIES: csv,
  CLERK_PUBLISHABLE_KEY: z
    .string()
    .trim()
    .regex(/^pk_(test|live)_[A-Za-z0-9+/=_-]+$/, 'a Clerk publishable key (pk_test_… or pk_live_…)')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  INTERNAL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  VNPAY_TMN_CODE: optionalString,
  VNPAY_HASH_SECRET: optionalString,
  VNPAY_PAY_URL: optionalUrl,
  VNPAY_API_URL: optionalUrl,
  VNPAY_RETURN_URL: optionalUrl,
  VNPAY_SERVER_IP: optionalString.refine(
    (value) => value === undefined || clientIpOrNull(value) === value,
    'an IPv4 or IPv6 address (no zone, IPv4 written as such)',
  ),
  SMTP_URL: optionalString,
  MAIL_FROM: optionalString,
  // Where mail is written as .eml files when SMTP_URL is not set (default: <EMBEDDED_DATA_DIR>/mail).
  MAIL_DIR: optionalString,
  FRONTEND_URL: optionalUrl,
  CORS_ORIGINS: csv,
  INTROSPECTION: bool,
  SEAT_HOLD_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(600),
  BOOKING_PENDING_TTL_SECONDS: z.coerce.number().int().min(10).max(86400).default(600),
  // Anti-hoarding (issue 8): a fresh window only after a cooldown, a cap across showtimes, a rate.
  SEAT_HOLD_COOLDOWN_SECONDS: z.coerce.number().int().min(0).max(86400).default(120),
  SEAT_HOLD_MAX_SHOWTIMES: z.coerce.number().int().min(1).max(100).default(3),
  SEAT_HOLD_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100000).default(30),
  // Request limits (every service): parse, shape, cost, response size, database time.
  QUERY_MAX_TOKENS: z.coerce.number().int().min(100).max(1000000).default(5000),
  QUERY_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  QUERY_MAX_FIELDS: z.coerce.number().int().min(10).max(100000).default(1500),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).max(100000).default(100),
  QUERY_MAX_COST: z.coerce.number().int().min(100).max(100000000).default(50000),
  RESPONSE_MAX_BYTES: z.coerce.number().int().min(1024).max(1073741824).default(5242880),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).max(3600000).default(5000),
  // WebSocket limits at the gateway (0 = no cap per address).
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: z.coerce.number().int().min(1).max(10000).default(20),
  WS_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(0).max(1000000).default(100),
  WS_TOKEN_EXPIRY_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  // How long published outbox rows, processed-event ids and Clerk event ids are kept.
  EVENT_RETENTION_HOURS: z.coerce.number().int().min(1).max(8760).default(168),
  SUPERGRAPH_PATH: optionalString,
  // Live reload: how often the file is stat-polled (besides fs.watch), and a URL to poll.
  SUPERGRAPH_POLL_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  SUPERGRAPH_URL: optionalUrl,
  SUPERGRAPH_URL_POLL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(30000),
  // Observability: who may read /metrics in production, and where traces go (off when unset).
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_SERVICE_NAME: optionalString,
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  EMBEDDED_PG_PORT: port.default(54329),
  EMBEDDED_DATA_DIR: z.string().default('.data'),
});

export type Env = z.infer<typeof envSchema>;
type EnvName = keyof Env;

/** What every service reads: who it is, where it listens, how it reaches the others, limits. */
const COMMON_VARIABLES: readonly EnvName[] = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'USERS_URL',
  'MOVIES_URL',
  'CINEMAS_URL',
  'BOOKINGS_URL',
  'REDIS_URL',
  'REDIS_CLUSTER_NODES',
  'REDIS_KEY_PREFIX',
  'INTERNAL_SECRET',
  'INTROSPECTION',
  'QUERY_MAX_TOKENS',
  'QUERY_MAX_DEPTH',
  'QUERY_MAX_FIELDS',
  'QUERY_MAX_ALIASES',
  'QUERY_MAX_COST',
  'RESPONSE_MAX_BYTES',
  'METRICS_TOKEN',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER_ARG',
];

/** A subgraph's storage: the shared server or its own database, pool, timeouts, retention. */
const subgraphStorage = (name: SubgraphName): EnvName[] => [
  'DATABASE_URL',
  `${name.toUpperCase()}_DATABASE_URL` as EnvName,
  'DATABASE_NAME_PREFIX',
  'DATABASE_POOL_SIZE',
  'DATABASE_STATEMENT_TIMEOUT_MS',
  'EVENT_RETENTION_HOURS',
];

/**
 * The variables each service reads: its own section and nothing else, so a typo in a variable
 * only the bookings subgraph uses cannot stop the gateway, and a service's start-up report
 * names only what concerns it. The local stack and the tools run every service: they read all.
 */
const SERVICE_VARIABLES: Readonly<Partial<Record<ServiceName, readonly EnvName[]>>> = {
  gateway: [
    ...COMMON_VARIABLES,
    'CLERK_JWT_KEY',
    'CLERK_SECRET_KEY',
    'CLERK_WEBHOOK_SIGNING_SECRET',
    'CLERK_AUTHORIZED_PARTIES',
    'CLERK_PUBLISHABLE_KEY',
    'CORS_ORIGINS',
    'FRONTEND_URL',
    'WS_MAX_SUBSCRIPTIONS_PER_SOCKET',
    'WS_MAX_SOCKETS_PER_ADDRESS',
    'WS_TOKEN_EXPIRY_GRACE_SECONDS',
    'SUPERGRAPH_PATH',
    'SUPERGRAPH_POLL_MS',
    'SUPERGRAPH_URL',
    'SUPERGRAPH_URL_POLL_MS',
  ],
  users: [...COMMON_VARIABLES, ...subgraphStorage('users')],
  movies: [...COMMON_VARIABLES, ...subgraphStorage('movies')],
  cinemas: [
    ...COMMON_VARIABLES,
    ...subgraphStorage('cinemas'),
    'SEAT_HOLD_TTL_SECONDS',
    'SEAT_HOLD_COOLDOWN_SECONDS',
    'SEAT_HOLD_MAX_SHOWTIMES',
    'SEAT_HOLD_RATE_PER_MINUTE',
  ],
  bookings: [
    ...COMMON_VARIABLES,
    ...subgraphStorage('bookings'),
    'VNPAY_TMN_CODE',
    'VNPAY_HASH_SECRET',
    'VNPAY_PAY_URL',
    'VNPAY_API_URL',
    'VNPAY_RETURN_URL',
    'VNPAY_SERVER_IP',
    'SMTP_URL',
    'MAIL_FROM',
    'MAIL_DIR',
    'FRONTEND_URL',
    'BOOKING_PENDING_TTL_SECONDS',
  ],
};

/** The part of `source` that `service` reads (everything for the local stack and tools). */
function ownSection(
  service: ServiceName,
  source: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const names = SERVICE_VARIABLES[service];
  if (!names) return source;
  return Object.fromEntries(names.map((name) => [name, source[name]]));
}

export interface AppConfig {
  readonly service: ServiceName;
  readonly env: Env['NODE_ENV'];
  readonly isProduction: boolean;
  readonly http: { readonly host: string; readonly port: number };
  readonly logLevel: string;
  /**
   * Where each of our subgraphs listens: the URL configured for it (`USERS_URL` …), else its
   * default port on localhost. Subgraphs calling one another use these.
   */
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  /**
   * The subgraph URLs that were configured (`USERS_URL` … or {@link withOverrides}), and only
   * those: the gateway reaches a subgraph here when given, else where the supergraph it serves
   * says (`join__graph(url:)`), so an operator's composition is served as composed.
   */
  readonly subgraphUrlOverrides: Readonly<Partial<Record<SubgraphName, string>>>;
  readonly db: {
    /** Server URL shared by the subgraphs, each on its own database. */
    readonly url?: string;
    readonly perService: Readonly<Partial<Record<SubgraphName, string>>>;
    readonly namePrefix: string;
    readonly poolSize: number;
  };
  readonly redis: { readonly url?: string; readonly keyPrefix: string };
  readonly internalSecret: string;
  readonly clerk: {
    readonly jwtKey?: string;
    readonly secretKey?: string;
    readonly webhookSigningSecret?: string;
    readonly authorizedParties: readonly string[];
    /** For the seat map page's Clerk sign-in (`/app`); absent: the page has none. */
    readonly publishableKey?: string;
  };
  /**
   * VNPay (bookings). Outside production every value has a local default, and the embedded
   * default points `payUrl`/`apiUrl` at the local VNPay simulator it starts (`simulated`).
   */
  readonly vnpay: {
    readonly tmnCode: string;
    readonly hashSecret: string;
    readonly payUrl: string;
    readonly apiUrl: string;
    /** Where VNPay sends the browser back: the gateway's `/payments/vnpay/return`. */
    readonly returnUrl: string;
    /** True when none of the VNPay URLs was configured (the local simulator stands in). */
    readonly simulated: boolean;
    /**
     * This server's address as `vnp_IpAddr` of its own calls to VNPay's API (querydr,
     * refund), and of a payment whose customer's address is unknown: `VNPAY_SERVER_IP`, else
     * the host's first external IPv4 address, else 127.0.0.1.
     */
    readonly serverIp: string;
  };
  /** Email (bookings): SMTP when `smtpUrl` is set, else one `.eml` file per message in `dir`. */
  readonly mail: { readonly smtpUrl?: string; readonly from: string; readonly dir: string };
  readonly frontendUrl: string;
  readonly cors: { readonly origins: readonly string[] };
  readonly introspection: boolean;
  readonly seatHoldTtlSeconds: number;
  /** How long a PENDING booking keeps its seats before the expiry job releases them. */
  readonly bookingPendingTtlSeconds: number;
  /** Anti-hoarding rules of seat holds (cinemas). */
  readonly seatHolds: {
    /** After a user's hold window in a showtime expires, no new window there for this long. */
    readonly cooldownSeconds: number;
    /** Showtimes in which one user may hold seats at the same time. */
    readonly maxShowtimesPerUser: number;
    /** Hold/release mutations per user per minute (`RATE_LIMITED` beyond). */
    readonly ratePerMinute: number;
  };
  /** Request limits; every service applies the ones that concern it. */
  readonly limits: {
    /** Lexical tokens in one GraphQL document (parsing stops beyond). */
    readonly maxTokens: number;
    readonly maxDepth: number;
    /** Field selections, each fragment counted once per spread. */
    readonly maxFields: number;
    readonly maxAliases: number;
    /** Estimated result size: fields multiplied by list sizes (page sizes or declared maxima). */
    readonly maxCost: number;
    /** Largest JSON response body or subscription event. */
    readonly maxResponseBytes: number;
    /** PostgreSQL `statement_timeout` per connection (0 = none). */
    readonly statementTimeoutMs: number;
    readonly maxSubscriptionsPerSocket: number;
    /** Open WebSockets per client address (0 = no cap). */
    readonly maxSocketsPerAddress: number;
    /** A socket whose token expired is closed (4403) this long after the expiry. */
    readonly tokenExpiryGraceSeconds: number;
  };
  /** Housekeeping of the event backbone and webhook ledgers. */
  readonly events: { readonly retentionHours: number };
  readonly embedded: { readonly pgPort: number; readonly dataDir: string };
  /** The composed supergraph the gateway loads (default: the committed schema/supergraph.graphql). */
  readonly supergraphPath?: string;
  /** Live reload: the file's stat poll, and a URL polled for new compositions (`SUPERGRAPH_URL`). */
  readonly supergraphReload: {
    readonly url?: string;
    readonly filePollMs: number;
    readonly urlPollMs: number;
  };
  /**
   * `/metrics`: open outside production; in production only to `Authorization: Bearer
   * <token>` (`METRICS_TOKEN`) or a service identity signed for this service.
   */
  readonly metrics: { readonly token?: string };
  /**
   * OpenTelemetry traces, exported over OTLP/HTTP to `endpoint` (`OTEL_EXPORTER_OTLP_ENDPOINT`,
   * the collector's base URL); no endpoint, no tracing at all. `serviceName` is the traces'
   * `service.name`: `OTEL_SERVICE_NAME`, else `moviehub-<service>`. `sampleRatio`
   * (`OTEL_TRACES_SAMPLER_ARG`, 1): the share of incoming requests traced; a request from
   * another service follows its caller's decision.
   */
  readonly tracing: {
    readonly endpoint?: string;
    readonly serviceName: string;
    readonly sampleRatio: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** A development-only secret; production refuses to start without a real one. */
const DEV_INTERNAL_SECRET = 'moviehub-development-internal-secret-not-for-production';

/**
 * Validates the environment for one service and returns a frozen configuration.
 * Throws a {@link ConfigError} listing every problem at once.
 */
/** Where the front end is when FRONTEND_URL is not set. */
export const DEFAULT_FRONTEND_URL = 'http://localhost:3000';

/**
 * VNPay's sandbox-style settings for development and tests: the local simulator accepts them.
 * Production must name its own (checked above); these never reach a real VNPay.
 */
export const DEV_VNPAY = Object.freeze({
  tmnCode: 'MOVIEHUB',
  hashSecret: 'MOVIEHUB-LOCAL-VNPAY-SECRET-NOT-FOR-PRODUCTION',
  payUrl: 'http://localhost:4010/paymentv2/vpcpay.html',
  apiUrl: 'http://localhost:4010/merchant_webapi/api/transaction',
});

export function loadConfig(
  service: ServiceName,
  source: Record<string, string | undefined> = process.env,
): AppConfig {
  const parsed = envSchema.safeParse(ownSection(service, source));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  const problems: string[] = [];
  const isSubgraph = (SUBGRAPH_NAMES as readonly string[]).includes(service);

  if (e.REDIS_URL && e.REDIS_CLUSTER_NODES) {
    problems.push(
      'REDIS_URL and REDIS_CLUSTER_NODES: both set; set REDIS_URL for one Redis or ' +
        'REDIS_CLUSTER_NODES for a cluster (or REDIS_URL=redis+cluster://host:port,...), not both',
    );
  }
  if (isProduction) {
    if (!e.INTERNAL_SECRET) problems.push('INTERNAL_SECRET: required in production');
    if (!e.REDIS_URL && !e.REDIS_CLUSTER_NODES) {
      problems.push('REDIS_URL: required in production (or REDIS_CLUSTER_NODES for a cluster)');
    }
    if (service === 'gateway' && !e.CLERK_JWT_KEY && !e.CLERK_SECRET_KEY) {
      problems.push('CLERK_JWT_KEY or CLERK_SECRET_KEY: one is required in production');
    }
    if (service === 'gateway' && e.CLERK_AUTHORIZED_PARTIES.length === 0) {
      problems.push(
        'CLERK_AUTHORIZED_PARTIES: required in production (comma-separated origins allowed as azp)',
      );
    }
    if (service === 'gateway' && e.CORS_ORIGINS.length === 0) {
      problems.push('CORS_ORIGINS: required in production (comma-separated origins)');
    }
    if (service === 'bookings') {
      for (const name of [
        'VNPAY_TMN_CODE',
        'VNPAY_HASH_SECRET',
        'VNPAY_PAY_URL',
        'VNPAY_API_URL',
        'VNPAY_RETURN_URL',
        'SMTP_URL',
      ] as const) {
        if (!e[name]) problems.push(`${name}: required in production`);
      }
    }
    if (isSubgraph) {
      const own = e[`${service.toUpperCase()}_DATABASE_URL` as 'USERS_DATABASE_URL'];
      if (!own && !e.DATABASE_URL) {
        problems.push(`DATABASE_URL or ${service.toUpperCase()}_DATABASE_URL: required`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const defaultPort =
    service === 'local' || service === 'tool' ? DEFAULT_PORTS.gateway : DEFAULT_PORTS[service];
  const subgraphUrl = (name: SubgraphName, given?: string) =>
    given ?? `http://localhost:${DEFAULT_PORTS[name]}/graphql`;

  const config: AppConfig = {
    service,
    env: e.NODE_ENV,
    isProduction,
    http: { host: e.HOST, port: e.PORT ?? defaultPort },
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    subgraphUrls: {
      users: subgraphUrl('users', e.USERS_URL),
      movies: subgraphUrl('movies', e.MOVIES_URL),
      cinemas: subgraphUrl('cinemas', e.CINEMAS_URL),
      bookings: subgraphUrl('bookings', e.BOOKINGS_URL),
    },
    subgraphUrlOverrides: Object.fromEntries(
      (
        [
          ['users', e.USERS_URL],
          ['movies', e.MOVIES_URL],
          ['cinemas', e.CINEMAS_URL],
          ['bookings', e.BOOKINGS_URL],
        ] as const
      ).filter(([, url]) => url !== undefined),
    ),
    db: {
      url: e.DATABASE_URL,
      perService: {
        users: e.USERS_DATABASE_URL,
        movies: e.MOVIES_DATABASE_URL,
        cinemas: e.CINEMAS_DATABASE_URL,
        bookings: e.BOOKINGS_DATABASE_URL,
      },
      namePrefix: e.DATABASE_NAME_PREFIX,
      poolSize: e.DATABASE_POOL_SIZE,
    },
    redis: {
      url: e.REDIS_CLUSTER_NODES
        ? `redis+cluster://${e.REDIS_CLUSTER_NODES.join(',')}`
        : e.REDIS_URL,
      keyPrefix: e.REDIS_KEY_PREFIX,
    },
    internalSecret: e.INTERNAL_SECRET ?? DEV_INTERNAL_SECRET,
    clerk: {
      jwtKey: e.CLERK_JWT_KEY,
      secretKey: e.CLERK_SECRET_KEY,
      webhookSigningSecret: e.CLERK_WEBHOOK_SIGNING_SECRET,
      authorizedParties: e.CLERK_AUTHORIZED_PARTIES,
      publishableKey: e.CLERK_PUBLISHABLE_KEY,
    },
    vnpay: {
      tmnCode: e.VNPAY_TMN_CODE ?? DEV_VNPAY.tmnCode,
      hashSecret: e.VNPAY_HASH_SECRET ?? DEV_VNPAY.hashSecret,
      payUrl: e.VNPAY_PAY_URL ?? DEV_VNPAY.payUrl,
      apiUrl: e.VNPAY_API_URL ?? DEV_VNPAY.apiUrl,
      returnUrl:
        e.VNPAY_RETURN_URL ?? `http://localhost:${DEFAULT_PORTS.gateway}/payments/vnpay/return`,
      simulated: !e.VNPAY_PAY_URL && !e.VNPAY_API_URL,
      serverIp: e.VNPAY_SERVER_IP ?? hostIpv4(),
    },
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? 'MovieHub <no-reply@moviehub.example>',
      dir: e.MAIL_DIR ?? `${e.EMBEDDED_DATA_DIR.replace(/\/+$/, '')}/mail`,
    },
    frontendUrl: e.FRONTEND_URL ?? DEFAULT_FRONTEND_URL,
    cors: { origins: e.CORS_ORIGINS },
    introspection: e.INTROSPECTION ?? !isProduction,
    seatHoldTtlSeconds: e.SEAT_HOLD_TTL_SECONDS,
    bookingPendingTtlSeconds: e.BOOKING_PENDING_TTL_SECONDS,
    seatHolds: {
      cooldownSeconds: e.SEAT_HOLD_COOLDOWN_SECONDS,
      maxShowtimesPerUser: e.SEAT_HOLD_MAX_SHOWTIMES,
      ratePerMinute: e.SEAT_HOLD_RATE_PER_MINUTE,
    },
    limits: {
      maxTokens: e.QUERY_MAX_TOKENS,
      maxDepth: e.QUERY_MAX_DEPTH,
      maxFields: e.QUERY_MAX_FIELDS,
      maxAliases: e.QUERY_MAX_ALIASES,
      maxCost: e.QUERY_MAX_COST,
      maxResponseBytes: e.RESPONSE_MAX_BYTES,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      maxSubscriptionsPerSocket: e.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      maxSocketsPerAddress: e.WS_MAX_SOCKETS_PER_ADDRESS,
      tokenExpiryGraceSeconds: e.WS_TOKEN_EXPIRY_GRACE_SECONDS,
    },
    events: { retentionHours: e.EVENT_RETENTION_HOURS },
    embedded: { pgPort: e.EMBEDDED_PG_PORT, dataDir: e.EMBEDDED_DATA_DIR },
    supergraphPath: e.SUPERGRAPH_PATH,
    supergraphReload: {
      url: e.SUPERGRAPH_URL,
      filePollMs: e.SUPERGRAPH_POLL_MS,
      urlPollMs: e.SUPERGRAPH_URL_POLL_MS,
    },
    metrics: { token: e.METRICS_TOKEN },
    tracing: {
      endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
      serviceName: e.OTEL_SERVICE_NAME ?? `moviehub-${service}`,
      sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
    },
  };
  return deepFreeze(config);
}

/** The database URL one subgraph uses: its own variable, or its database on the shared server. */
export function databaseUrlFor(config: AppConfig, name: SubgraphName): string {
  const own = config.db.perService[name];
  if (own) return own;
  if (!config.db.url) {
    throw new ConfigError([`DATABASE_URL or ${name.toUpperCase()}_DATABASE_URL: required`]);
  }
  const url = new URL(config.db.url);
  url.pathname = `/${config.db.namePrefix}${name}`;
  return url.toString();
}

/**
 * Returns a copy of a configuration with some parts replaced (tests, the local stack).
 * Subgraph URLs given here count as configured (`subgraphUrlOverrides`), as if they came from
 * `USERS_URL` etc.: a stack that starts subgraphs on ports of its own is where the gateway goes.
 */
export function withOverrides(config: AppConfig, overrides: DeepPartial<AppConfig>): AppConfig {
  const patch = overrides.subgraphUrls
    ? {
        ...overrides,
        subgraphUrlOverrides: { ...overrides.subgraphUrls, ...overrides.subgraphUrlOverrides },
      }
    : overrides;
  return deepFreeze(merge(structuredClone<AppConfig>(config), patch));
}

export type DeepPartial<T> = {
  -readonly [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K];
};

function merge<T>(target: T, patch: unknown): T {
  for (const [key, value] of Object.entries(patch as object)) {
    const current = (target as Record<string, unknown>)[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && current) {
      merge(current, value);
    } else if (value !== undefined) {
      (target as Record<string, unknown>)[key] = value;
    }
  }
  return target;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * `@apollo/gateway` sends anonymous usage figures to Apollo from every gateway it makes,
 * unless `APOLLO_TELEMETRY_DISABLED` says otherwise. A booking platform reports nothing to a
 * third party it was not told to: off unless the operator set the variable either way.
 */
export function keepApolloTelemetryOff(): void {
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
}

/** The host's first external (non-loopback) IPv4 address, else 127.0.0.1. */
function hostIpv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '127.0.0.1';
}
