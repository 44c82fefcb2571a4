const MESSAGES_PATH = '/api/v1/topics/{name}/messages';

/**
 * The query parameter the messages endpoint takes a start time in, read from the API's OpenAPI document:
 * `at` (the console contract) or `since` (APIs from before it). It matters: a parameter a route does not
 * take is ignored, so asking the wrong one would silently read from offset 0. `at` when the document
 * does not say.
 */
export function messagesTimeParameter(openapi: unknown): 'at' | 'since' {
  const doc = openapi as { paths?: Record<string, { get?: { parameters?: { name?: unknown }[] } }> } | null;
  const names = (doc?.paths?.[MESSAGES_PATH]?.get?.parameters ?? []).map((p) => p.name);
  return !names.includes('at') && names.includes('since') ? 'since' : 'at';
}
