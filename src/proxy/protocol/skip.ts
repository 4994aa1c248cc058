/**
 * `skip_path_regex`, "Unauthenticated Paths/URLs" (spec proxy.md §7.1), compiled once per
 * provider.
 *
 * - One regular expression per line; a trailing `\r` (CRLF input) is dropped.
 * - **Empty and blank lines are ignored.** In authentik an empty line (a trailing newline is
 *   enough) compiles to the empty regex, which matches everything and switches authentication
 *   off for the whole app (§10.9). Here it is a no-op.
 * - Unanchored search, first match wins, as RE2's `MatchString`. A leading `(?i)`, `(?s)`,
 *   `(?m)` (or a combination, RE2 style) becomes the JavaScript flag. Lines JavaScript cannot
 *   compile are reported in `invalid` and skipped (authentik logs and skips them too).
 * - Subject: the URL path (`pathname`, still percent-encoded and dot-segment-normalized, query
 *   excluded) in proxy and forward_single modes; the full URL (`href`) in forward_domain.
 *   Matching the encoded path is deliberate: `/public%2F..%2Fadmin` does not match `^/public/`
 *   and so stays authenticated (Go matches the decoded path).
 */
import type { ProxyProviderConfig } from './provider.ts';

export interface InvalidSkipPattern {
  readonly line: number;
  readonly pattern: string;
  readonly error: string;
}

export interface SkipMatcher {
  /** True when `url` may be served without authentication. */
  matches(url: URL): boolean;
  readonly patterns: readonly RegExp[];
  readonly invalid: readonly InvalidSkipPattern[];
}

const INLINE_FLAGS = /^\(\?([ims]+)\)/;

export function compileSkip(provider: Pick<ProxyProviderConfig, 'skip_path_regex' | 'mode'>): SkipMatcher {
  const patterns: RegExp[] = [];
  const invalid: InvalidSkipPattern[] = [];
  provider.skip_path_regex.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let source = line;
    let flags = '';
    const m = INLINE_FLAGS.exec(source);
    if (m !== null) {
      flags = [...new Set(m[1]!)].join('');
      source = source.slice(m[0].length);
      if (source === '') return; // `(?i)` alone would match everything: same as an empty line
    }
    try {
      patterns.push(new RegExp(source, flags));
    } catch (err) {
      invalid.push({ line: i + 1, pattern: line, error: (err as Error).message });
    }
  });
  const fullUrl = provider.mode === 'forward_domain';
  return {
    patterns,
    invalid,
    matches(url: URL): boolean {
      if (patterns.length === 0) return false;
      const subject = fullUrl ? url.href : url.pathname;
      for (const re of patterns) if (re.test(subject)) return true;
      return false;
    },
  };
}
