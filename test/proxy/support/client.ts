// A "browser" for the proxy tests without a browser: HTTP with cookie jars, and the login at the
// core that the login page performs (authorize → the flow executor API → authorize again).
import { strict as assert } from 'node:assert';
import type { IncomingHttpHeaders } from 'node:http';
import { request, type Dispatcher } from 'undici';
import type { DevCore } from '../../../src/devcore/index.ts';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  location: string | undefined;
  setCookies: string[];
}

/** Cookies by name (tests use one jar per "browser"; domains and paths are not modelled). */
export class Jar {
  readonly cookies = new Map<string, string>();

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('max-age='));
      if (maxAge !== undefined && Number(maxAge.slice(8)) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  clone(): Jar {
    const j = new Jar();
    for (const [k, v] of this.cookies) j.cookies.set(k, v);
    return j;
  }
}

/** `dispatcher`: a client of the caller's (e.g. one new connection per request); default undici's global pool. */
export async function call(
  origin: string,
  path: string,
  opts: { method?: string; host?: string; headers?: Record<string, string>; jar?: Jar; body?: string; dispatcher?: Dispatcher } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.host) headers['host'] = opts.host;
  const cookie = opts.jar?.header();
  if (cookie && headers['cookie'] === undefined) headers['cookie'] = cookie;
  const res = await request(`${origin}${path}`, { method: (opts.method ?? 'GET') as 'GET', headers, body: opts.body, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}) });
  const body = await res.body.text();
  const sc = res.headers['set-cookie'];
  const setCookies = sc === undefined ? [] : Array.isArray(sc) ? sc : [sc];
  opts.jar?.take(setCookies);
  const location = res.headers['location'];
  return { status: res.statusCode, headers: res.headers, body, location: typeof location === 'string' ? location : undefined, setCookies };
}

/**
 * Log in at the core like its login page: authorize → /if/flow/<slug>/?next=… → the flow executor
 * API (identification with the password; the executor's 302s to itself between stages followed,
 * one for the e2e seed's flow, two for the demo's with its skipped MFA stage) → authorize again →
 * the 302 to the callback. `jar` is the browser's jar for the core. Returns the callback URL
 * (with code and state).
 */
export async function loginAtCore(core: Pick<DevCore, 'url'>, authorizeUrl: string, username: string, password: string, jar: Jar): Promise<string> {
  const origin = core.url;
  const get = async (url: string): Promise<Reply> => {
    const u = new URL(url, origin);
    return call(origin, `${u.pathname}${u.search}`, { jar });
  };
  /** GET an executor URL, following its redirects to itself, and parse the challenge. */
  const challenge = async (url: string): Promise<{ component: string; to?: string }> => {
    let r = await get(url);
    for (let i = 0; i < 10 && r.status === 302 && r.location; i++) r = await get(r.location);
    assert.equal(r.status, 200, `executor ${url}: ${r.status} ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body) as { component: string; to?: string };
  };
  let r = await get(authorizeUrl);
  if (r.status === 302 && r.location && new URL(r.location, origin).pathname.startsWith('/if/flow/')) {
    const flowUrl = new URL(r.location, origin);
    const slug = flowUrl.pathname.split('/')[3]!;
    const api = `/api/v3/flows/executor/${encodeURIComponent(slug)}/?query=${encodeURIComponent(flowUrl.search.slice(1))}`;
    let c = await challenge(api);
    for (let i = 0; i < 5 && c.component !== 'xak-flow-redirect'; i++) {
      assert.equal(c.component, 'ak-stage-identification', `unexpected stage: ${JSON.stringify(c)}`);
      const post = await call(origin, api, { method: 'POST', jar, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ component: c.component, uid_field: username, password }) });
      c = post.status === 302 && post.location ? await challenge(post.location) : (JSON.parse(post.body) as typeof c);
    }
    assert.ok(c.component === 'xak-flow-redirect' && c.to, `login did not finish: ${JSON.stringify(c)}`);
    r = await get(c.to);
  }
  assert.ok(r.status === 302 && r.location, `authorize answered ${r.status}: ${r.body.slice(0, 300)}`);
  return r.location;
}
