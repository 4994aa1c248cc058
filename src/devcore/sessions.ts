// Server-side sessions keyed by the `authentik_session` cookie. As in authentik 2024.4 the
// cookie value is an HS256 JWT ({sid, iss, sub, authenticated, acr}) signed with
// sha512(install id); the session data itself stays on the server.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StageSpec } from './seed.ts';
import type { Store, UserRec } from './model.ts';
import { qsToRecord, type QueryPairs } from './querystring.ts';

export const SESSION_COOKIE = 'authentik_session';

export type PendingUser = { kind: 'user'; pk: number } | { kind: 'pretend'; username: string };

export interface FlowPlan {
  flowSlug: string;
  /** Remaining stage bindings; the first is the current stage. */
  bindings: StageSpec[];
  context: {
    pendingUser?: PendingUser;
    /** Set when the identification stage hides the matched user (show_matched_user: false). */
    pendingUserIdentifier?: string;
    /** The outpost whose token delegated the client IP while planning. */
    outpost?: string;
  };
}

export interface DeviceChallengeJson {
  device_class: string;
  device_uid: string;
  challenge: Record<string, unknown>;
}

export interface Session {
  key: string;
  created: number;
  lastUsed: number;
  /** The logged-in user, or null for an anonymous session. */
  userPk: number | null;
  /** The password hash at login; Django drops the login when it changes. */
  authHash: string | null;
  plan: FlowPlan | null;
  /** `authentik/flows/get`: the parsed `query` parameter of the last executor request. */
  get: QueryPairs | null;
  /** The same, kept after the flow ends (for assertions). */
  lastFlowQuery: QueryPairs | null;
  /** `user_invalid_tries` of the password stage. */
  invalidTries: number;
  deviceChallenges: DeviceChallengeJson[] | null;
  consentToken: string | null;
  /** Name of the outpost whose token came with X-authentik-outpost-token (last seen). */
  outpost: string | null;
  /** The last X-authentik-remote-ip honoured for this session. */
  remoteIp: string | null;
  /** Epoch milliseconds of the login (tokens' `auth_time`), or null. */
  authTime: number | null;
}

export interface SessionInfo {
  session_key: string;
  username: string | null;
  authenticated: boolean;
  created: string;
  last_used: string;
  outpost: string | null;
  remote_ip: string | null;
  /** The parsed `query` parameter of the session's last flow executor request. */
  last_flow_query: Record<string, string> | null;
}

const KEY_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789';

function newKey(): string {
  let out = '';
  for (const b of randomBytes(32)) out += KEY_CHARS[b % KEY_CHARS.length];
  return out;
}

/**
 * authentik's `hash_session_key`: hex sha256 of the ASCII session key. Tokens carry it as `sid`
 * and the outposts hear it when the session ends.
 */
export function hashSessionKey(key: string): string {
  return createHash('sha256').update(key, 'ascii').digest('hex');
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly signingKey: string;
  private readonly store: Store;
  /** Anonymous flow sessions pile up under load (every RADIUS request makes one); keep the newest. */
  readonly maxSessions: number;

  constructor(store: Store, maxSessions = 100_000) {
    this.store = store;
    this.signingKey = createHash('sha512').update(store.installId).digest('hex');
    this.maxSessions = maxSessions;
  }

  create(): Session {
    const now = Date.now();
    const s: Session = {
      key: newKey(),
      created: now,
      lastUsed: now,
      userPk: null,
      authHash: null,
      plan: null,
      get: null,
      lastFlowQuery: null,
      invalidTries: 0,
      deviceChallenges: null,
      consentToken: null,
      outpost: null,
      remoteIp: null,
      authTime: null,
    };
    this.put(s);
    return s;
  }

  private put(s: Session): void {
    this.sessions.set(s.key, s);
    while (this.sessions.size > this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }

  /** The session a request's Cookie header points at, if it is valid and still exists. */
  fromCookieHeader(header: string | undefined): Session | undefined {
    if (!header) return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
      const sid = this.verify(part.slice(eq + 1).trim());
      const s = sid ? this.sessions.get(sid) : undefined;
      if (s) {
        s.lastUsed = Date.now();
        // Most recently used last, so eviction drops idle sessions first.
        this.sessions.delete(s.key);
        this.sessions.set(s.key, s);
        return s;
      }
    }
    return undefined;
  }

  private verify(token: string): string | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, sig] = parts as [string, string, string];
    const expected = createHmac('sha256', this.signingKey).update(`${h}.${p}`).digest();
    const got = Buffer.from(sig, 'base64url');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
    try {
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as { sid?: unknown };
      return typeof payload.sid === 'string' ? payload.sid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The session with this key, if it still exists. */
  byKey(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  /** The cookie value: a JWT naming the session, as authentik's SessionMiddleware writes it. */
  cookieValue(s: Session): string {
    const user = this.authenticatedUser(s);
    const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = b64url(
      JSON.stringify({ sid: s.key, iss: 'authentik', sub: user ? this.store.userUid(user) : 'anonymous', authenticated: user !== null, acr: 'goauthentik.io/core/default' }),
    );
    const sig = createHmac('sha256', this.signingKey).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${sig}`;
  }

  /** Django's cookie for a plain-HTTP request: no Secure flag, SameSite=Lax, session lifetime. */
  setCookieHeader(s: Session): string {
    return `${SESSION_COOKIE}=${this.cookieValue(s)}; HttpOnly; Path=/; SameSite=Lax`;
  }

  /** Django's `cycle_key()` on login: same data, new key. */
  cycleKey(s: Session): void {
    this.sessions.delete(s.key);
    s.key = newKey();
    this.put(s);
  }

  /** Django's `flush()` on logout: drop the session, continue with a new empty one. */
  flush(s: Session): Session {
    this.sessions.delete(s.key);
    return this.create();
  }

  login(s: Session, u: UserRec): void {
    s.userPk = u.pk;
    s.authHash = u.password?.encoded ?? null;
    s.authTime = Date.now();
    this.cycleKey(s);
  }

  /**
   * The session's user as Django's auth middleware resolves it: gone, deactivated or with a
   * changed password means anonymous.
   */
  authenticatedUser(s: Session): UserRec | null {
    if (s.userPk === null) return null;
    const u = this.store.users.get(s.userPk);
    if (!u || !u.isActive || (u.password?.encoded ?? null) !== s.authHash) return null;
    return u;
  }

  info(s: Session): SessionInfo {
    const u = this.authenticatedUser(s);
    const anyUser = s.userPk !== null ? this.store.users.get(s.userPk) : undefined;
    return {
      session_key: s.key,
      username: u?.username ?? anyUser?.username ?? null,
      authenticated: u !== null,
      created: new Date(s.created).toISOString(),
      last_used: new Date(s.lastUsed).toISOString(),
      outpost: s.outpost,
      remote_ip: s.remoteIp,
      last_flow_query: s.lastFlowQuery ? qsToRecord(s.lastFlowQuery) : null,
    };
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => this.info(s));
  }

  /** End every session, or those of one user. Returns the ended sessions that were logged in. */
  end(username?: string): Session[] {
    const ended: Session[] = [];
    for (const s of [...this.sessions.values()]) {
      const u = s.userPk !== null ? this.store.users.get(s.userPk) : undefined;
      if (username !== undefined && u?.username !== username) continue;
      this.sessions.delete(s.key);
      if (s.userPk !== null) ended.push(s);
    }
    return ended;
  }

  get size(): number {
    return this.sessions.size;
  }
}
