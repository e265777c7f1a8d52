/**
 * GraphQL over HTTP as a front end sends it, for the tests and the benchmarks. Apart from
 * `test-stack.ts`, so that a client (a benchmark's load generator) does not load the stack.
 */

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

export interface RequestOptions {
  token?: string;
  headers?: Record<string, string>;
  operationName?: string;
}

/** The server answered with a body that is not JSON (a proxy's error page, a crash). */
export class NotJsonResponseError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status} with a body that is not JSON: ${body.slice(0, 200)}`);
    this.name = 'NotJsonResponseError';
  }
}

/**
 * POSTs one GraphQL request, as a front end would, and answers the status, headers and body
 * whatever they hold (GraphQL errors are the caller's to judge). Throws when the request
 * fails or the body is not JSON ({@link NotJsonResponseError}).
 */
export async function postGraphQL<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: RequestOptions = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables, operationName: options.operationName }),
  });
  const text = await res.text();
  let body: { data?: T; errors?: GraphQLResponse['errors'] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new NotJsonResponseError(res.status, text);
  }
  return { status: res.status, headers: res.headers, ...body };
}
