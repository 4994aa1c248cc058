// Client-supplied strings in log lines (bind DNs, search bases, filters, attribute lists) are
// cut: a request may be 2 MiB, and each bind and search is logged at info, so a client could
// otherwise turn its requests into log volume one for one. Real DNs and filters are far shorter.

/** Characters of one client-supplied string a log line carries. */
const MAX_LOGGED_CHARS = 1024;
/** Entries of a client-supplied list a log line carries. */
const MAX_LOGGED_ITEMS = 32;

/** `s`, or its first MAX_LOGGED_CHARS characters and how many more there were. */
export function clipForLog(s: string): string {
  return s.length <= MAX_LOGGED_CHARS ? s : `${s.slice(0, MAX_LOGGED_CHARS)}… (${s.length - MAX_LOGGED_CHARS} more characters)`;
}

/** `list` with each entry clipped, and at most MAX_LOGGED_ITEMS of them. */
export function clipListForLog(list: readonly string[]): readonly string[] {
  if (list.length <= MAX_LOGGED_ITEMS && list.every((s) => s.length <= MAX_LOGGED_CHARS)) return list;
  const kept = list.slice(0, MAX_LOGGED_ITEMS).map(clipForLog);
  if (list.length > MAX_LOGGED_ITEMS) kept.push(`… (${list.length - MAX_LOGGED_ITEMS} more)`);
  return kept;
}
