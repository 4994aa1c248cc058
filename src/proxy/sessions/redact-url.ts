// A store URL may carry a password (`postgres://user:secret@host/db`, or as a query parameter:
// `?password=secret`, `?sslpassword=…`, both read by pg and ioredis), and a driver may quote the
// URL or its parts in an error message. Every message we log or throw goes through here.

/** Query parameters whose value is a secret (pg: password, sslpassword; ioredis: password). */
const SECRET_PARAM = /pass|secret|token/i;

/** A function that replaces the URL, its password, its userinfo and secret query values in a text with `***`. */
export function urlRedactor(url: string): (text: string) => string {
  const secrets = new Set<string>([url]);
  const addEncoded = (raw: string) => {
    secrets.add(raw);
    try {
      secrets.add(decodeURIComponent(raw.replaceAll('+', ' ')));
      secrets.add(decodeURIComponent(raw));
    } catch {
      // Not percent-encoded validly: the raw form is covered.
    }
  };
  const at = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url);
  const userinfo = at?.[1];
  if (userinfo) {
    secrets.add(userinfo);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) addEncoded(userinfo.slice(colon + 1));
  }
  const query = /\?([^#]*)/.exec(url)?.[1] ?? '';
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && SECRET_PARAM.test(pair.slice(0, eq))) addEncoded(pair.slice(eq + 1));
  }
  // Longest first, so that the URL goes before the password inside it; short values (a one-letter
  // password) would blank out unrelated text, and say nothing useful anyway.
  const list = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const s of list) out = out.split(s).join('***');
    return out;
  };
}
