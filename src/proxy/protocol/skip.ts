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
 *   compile, and lookarounds and backreferences (not RE2), are reported in `invalid` and
 *   skipped (authentik logs and skips them too). Matching stays linear in the path's length.
 * - Subject: the URL path (`pathname`, still percent-encoded and dot-segment-normalized, query
 *   excluded) in proxy and forward_single modes; the full URL (`href`) in forward_domain.
 *   Matching the encoded path is deliberate: `/public%2F..%2Fadmin` does not match `^/public/`
 *   and so stays authenticated (Go matches the decoded path).
 */
import { setFlagsFromString } from 'node:v8';
import type { ProxyProviderConfig } from './provider.ts';

// The patterns are written for Go's RE2, which runs in linear time. V8's backtracking engine can
// take exponential time on some (`^/api/(\w+/?)+$` against a 30-character path: seconds; 40:
// hours), and every request is matched: one request would freeze every listener. With this flag
// V8 reruns such a match on its linear-time engine once it backtracks excessively (the process
// flag is set before any pattern is compiled; it changes no result). Lookarounds and
// backreferences, which that engine cannot run, are not RE2 syntax either: refused below.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** Lookaround or backreference: not RE2 syntax (authentik cannot compile it), and not linear-time. */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]|\\k</;

export interface InvalidSkipPattern {
  readonly line: number;
  readonly pattern: string;
  readonly error: string;
}

export interface SkipMatcher {
  /**
   * True when `url` may be served without authentication. `rawPath` is the path as it will
   * reach the upstream (before `?`): when given and not canonical (see `isCanonicalPath`), the
   * answer is false, whatever the patterns say.
   */
  matches(url: URL, rawPath?: string): boolean;
  readonly patterns: readonly RegExp[];
  readonly invalid: readonly InvalidSkipPattern[];
}

const INLINE_FLAGS = /^\(\?([ims]+)\)/;

/**
 * The raw request path is the one that was judged: the URL parser changed nothing in it (no
 * dot segment resolved, `%2e%2e` included; no backslash turned into a slash; an absolute-form
 * target is not judged as `/`), it holds no encoded `/` or `\` that an upstream may decode
 * (`/public/..%2Fadmin`), and no dot segment with path parameters (`/public/..;/admin`, which
 * WHATWG keeps as a name and Tomcat, Jetty and Spring resolve as `..`). An upstream need not
 * normalize as WHATWG does, so a skip decision on anything else could open another path. Query
 * excluded on both sides.
 */
export function isCanonicalPath(rawPath: string, url: URL): boolean {
  const q = rawPath.indexOf('?');
  const path = q === -1 ? rawPath : rawPath.slice(0, q);
  return path === url.pathname && !/%(?:2f|5c)/i.test(path) && !DOT_SEGMENT_WITH_PARAMS.test(path);
}

/** A segment `.` or `..` (either dot percent-encoded) followed by `;` (or `%3b`) and its parameters. */
const DOT_SEGMENT_WITH_PARAMS = /\/(?:\.|%2e){1,2}(?:;|%3b)/i;

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
    if (NOT_RE2.test(source)) {
      invalid.push({ line: i + 1, pattern: line, error: 'lookarounds and backreferences are not RE2 syntax' });
      return;
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
    matches(url: URL, rawPath?: string): boolean {
      if (patterns.length === 0) return false;
      if (rawPath !== undefined && !isCanonicalPath(rawPath, url)) return false;
      const subject = fullUrl ? url.href : url.pathname;
      for (const re of patterns) if (re.test(subject)) return true;
      return false;
    },
  };
}
