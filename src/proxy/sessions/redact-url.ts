// A store URL may carry a password (`postgres://user:secret@host/db`), and a driver may quote the
// URL or its parts in an error message. Every message we log or throw goes through here.

/** A function that replaces the URL, its password and its userinfo in a text with `***`. */
export function urlRedactor(url: string): (text: string) => string {
  const secrets = new Set<string>();
  secrets.add(url);
  const at = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url);
  const userinfo = at?.[1];
  if (userinfo) {
    secrets.add(userinfo);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      const raw = userinfo.slice(colon + 1);
      secrets.add(raw);
      try {
        secrets.add(decodeURIComponent(raw));
      } catch {
        // Not percent-encoded validly: the raw form is covered.
      }
    }
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
