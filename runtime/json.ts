/** A JSON object (a parsed `{…}`): not null, not an array; as `@apollo/gateway`'s `isObject`. */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
