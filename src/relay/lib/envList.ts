// The list settings both runtimes read from their environment (Node's process.env, Workers' vars),
// parsed in one place so a value means the same on either.

/** A comma list: items trimmed, empty ones left out. */
export const envList = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A comma list of `key=value` pairs (`WHOPQ_TYPEFORM_EVENTS`): the key before the first `=`, both trimmed. */
export const envPairs = (value: string | undefined): Record<string, string> =>
  Object.fromEntries(envList(value).map((pair) => [pair.split('=')[0]!.trim(), pair.slice(pair.indexOf('=') + 1).trim()]));
