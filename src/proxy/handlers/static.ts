// `/outpost.goauthentik.io/static/dist/<file>` on any host (spec §3.10): the few files the
// outpost's own HTML pages link. authentik embeds its whole web build there; this outpost ships
// a small stylesheet and logo of its own (../static/assets.ts), hashed once when this module
// loads. `assets/icons/icon.png` and `assets/images/flow_background.jpg`, which authentik's
// pages also link, are not shipped: 404.
//
// A request names a file only by the exact bytes of one of the table's names: the path is
// never decoded, normalised or joined to a directory, so no `..`, `%2e%2e`, `%2f`, backslash or
// trailing `/` can reach anything else, and there is no directory listing.
import { createHash } from 'node:crypto';
import { STATIC_FILES } from '../static/assets.ts';
import { send, type RequestState } from './request.ts';

export const STATIC_PREFIX = '/outpost.goauthentik.io/static/dist/';

/** Not content-addressed names: cached for an hour, then revalidated by ETag. */
const CACHE_CONTROL = 'public, max-age=3600';

export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
  /** Strong: a hash of the bytes. */
  readonly etag: string;
}

function load(): ReadonlyMap<string, StaticAsset> {
  const out = new Map<string, StaticAsset>();
  for (const [name, { contentType, text }] of Object.entries(STATIC_FILES)) {
    const body = Buffer.from(text, 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    out.set(name, { body, contentType, etag });
  }
  return out;
}

const ASSETS = load();

/** The asset a request path (undecoded, without its query) names, if it names one exactly. */
export function staticAsset(path: string): StaticAsset | undefined {
  if (!path.startsWith(STATIC_PREFIX)) return undefined;
  return ASSETS.get(path.slice(STATIC_PREFIX.length));
}

/**
 * Whether `If-None-Match` matches `etag` (RFC 9110 §13.1.2: `*`, or any listed tag by the weak
 * comparison, so a `W/` prefix a cache added still matches).
 */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  for (const raw of ifNoneMatch.split(',')) {
    const tag = raw.trim();
    if (tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

/** Answer a path under `/outpost.goauthentik.io/static/`. */
export function serveStatic(s: RequestState, path: string): void {
  const asset = staticAsset(path);
  if (asset === undefined) return send(s, 404, '404 page not found\n');
  const method = s.req.method;
  if (method !== 'GET' && method !== 'HEAD') return send(s, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
  const headers = {
    'content-type': asset.contentType,
    'cache-control': CACHE_CONTROL,
    etag: asset.etag,
    'x-content-type-options': 'nosniff',
  };
  const { res } = s;
  if (notModified(s.req.headers['if-none-match'], asset.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length });
  s.sent.bytes = method === 'HEAD' ? 0 : asset.body.length;
  res.end(method === 'HEAD' ? undefined : asset.body);
}
