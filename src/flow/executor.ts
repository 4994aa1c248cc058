// The flow executor: runs an authentik authentication flow on behalf of a user, as the LDAP and
// RADIUS listeners need it. One executor per attempt (a new cookie jar), sharing the process's
// pooled connections. No Authorization header: identity comes from the session cookie.
import { isIP } from 'node:net';
import type { z } from 'zod';
import type { CoreApi } from '../agent/core-api.ts';
import { CoreError, parseWire } from '../agent/errors.ts';
import { Deadline } from '../net/deadline.ts';
import { exchange, type ExchangeResponse } from '../net/http.ts';
import { named, type Logger } from '../log.ts';
import { coreFailure } from './core-failure.ts';
import {
  accessCheckSchema,
  challengeSchema,
  ldapCheckAccessSchema,
  radiusCheckAccessSchema,
  STAGE,
  userSelfEnvelopeSchema,
  type AccessCheck,
  type Challenge,
  type LdapAccess,
  type RadiusAccess,
  type UserSelf,
} from './challenges.ts';
import { CookieJar, SESSION_COOKIE } from './cookies.ts';
import { sessionIdOf } from './session-id.ts';
import { encodeFlowQuery, type FlowParams } from './query.ts';
import { nextStep, scrub, type DeniedReason, type FlowAnswers, type FlowErrorReason } from './solvers.ts';

/** Sink for the flow timing histograms (`authentik_outpost_flow_timing_{get,post}_seconds`). */
export interface FlowMetrics {
  /** The initial GET; `stage` is the component of the challenge it returned. */
  observeGet(flowSlug: string, stage: string, seconds: number): void;
  /** One POST (with the redirect it may cause); `stage` is the component of the response. */
  observePost(flowSlug: string, stage: string, seconds: number): void;
}

/** What the executor needs from the core API client (`failures` hears of the core failing). */
export type FlowCoreClient = Pick<CoreApi, 'origin' | 'token' | 'userAgent' | 'dispatcher' | 'timeoutMs' | 'failures'>;

export interface FlowDeps {
  core: FlowCoreClient;
  logger: Logger;
  metrics?: FlowMetrics;
  /** Deadline for one HTTP exchange (request + body), ms. Default: `core.timeoutMs`. */
  requestTimeoutMs?: number;
  /**
   * Deadline for a whole flow attempt, ms. Default 60 000. Note that a Duo push blocks one POST
   * until the user answers, so `requestTimeoutMs` bounds how long a push may take.
   */
  attemptTimeoutMs?: number;
}

export interface FlowExecutorOptions {
  /** The end client's IP, sent as `X-authentik-remote-ip` (host part only). */
  clientIp?: string;
  /** Extra fields on every log line of this attempt (e.g. username, client). Never secrets. */
  logFields?: Record<string, unknown>;
}

export interface FlowRunRequest {
  flowSlug: string;
  params: FlowParams;
  answers: FlowAnswers;
  /** Aborts the attempt (a client gone, a listener shutdown); gives an `aborted` error outcome. */
  signal?: AbortSignal;
}

export type FlowOutcome =
  /** The flow finished; `session` is the `authentik_session` cookie, if the core set one. */
  | { kind: 'passed'; session: string | undefined }
  /**
   * The flow refused the user: `invalid_credentials` when the identification, password or
   * authenticator stage answered with `response_errors`; `access_denied` for an access-denied
   * stage (a deny stage, a failing policy, too many failed attempts).
   */
  | { kind: 'denied'; reason: DeniedReason; message: string }
  /** The flow could not be run to an answer. `status` is set for `http_status`. */
  | { kind: 'error'; reason: FlowErrorReason; message: string; status?: number };

/** At most this many POSTs per attempt, as authentik's executor. */
export const MAX_POSTS = 10;
/** Redirects followed per exchange (the core sends at most one). */
export const MAX_REDIRECTS = 5;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 60_000;
/**
 * A flow answer (a challenge, an access check) is a few KB; one per concurrent bind or RADIUS
 * request is held at once, so each is bounded well below the core API's general 64 MiB.
 */
export const MAX_FLOW_ANSWER_BYTES = 1024 * 1024;

const EXECUTOR_PATH = '/api/v3/flows/executor/';

export function createFlowExecutor(deps: FlowDeps, opts: FlowExecutorOptions = {}): FlowExecutor {
  return new FlowExecutor(deps, opts);
}

export class FlowExecutor {
  private readonly deps: FlowDeps;
  private readonly jar = new CookieJar();
  private readonly clientIp: string | undefined;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private started = false;

  constructor(deps: FlowDeps, opts: FlowExecutorOptions = {}) {
    this.deps = deps;
    this.log = named(deps.logger, 'flow-executor', opts.logFields ?? {});
    // The core ignores a delegated address that is not an IP; we do not send one at all.
    if (opts.clientIp && isIP(opts.clientIp) === 0) this.log.warn({ client: opts.clientIp }, 'client address is not an IP; not delegated');
    this.clientIp = opts.clientIp && isIP(opts.clientIp) !== 0 ? opts.clientIp : undefined;
    this.requestTimeoutMs = deps.requestTimeoutMs ?? deps.core.timeoutMs;
    this.attemptTimeoutMs = deps.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  }

  /** The `authentik_session` cookie, once the core has set it. */
  session(): string | undefined {
    return this.jar.get(SESSION_COOKIE);
  }

  /** authentik's hashed id of that session (what SESSION_END names), when the cookie carries one. */
  sessionId(): string | undefined {
    const cookie = this.session();
    return cookie === undefined ? undefined : sessionIdOf(cookie);
  }

  /** Put a session from an earlier attempt into this executor's jar (e.g. for logout). */
  useSession(session: string): void {
    this.jar.set(SESSION_COOKIE, session);
  }

  /**
   * Run the flow: GET the first challenge, then answer and POST until the flow redirects
   * (passed), denies, or fails. Never throws for anything the core does. Call once per
   * executor; a second call throws.
   */
  async run(req: FlowRunRequest): Promise<FlowOutcome> {
    if (this.started) throw new Error('FlowExecutor.run called twice; create one executor per attempt');
    this.started = true;
    const deadline = new Deadline(this.attemptTimeoutMs, req.signal);
    const signal = deadline.signal;
    const log = this.log.child({ flow: req.flowSlug });
    const url = flowUrl(this.deps.core.origin, req.flowSlug, req.params);
    let stage = 'initial GET';
    let posts = 0;
    try {
      let t0 = performance.now();
      let challenge = await this.challenge('GET', url, undefined, signal);
      this.observe('get', req.flowSlug, stageOf(challenge), t0, log);
      for (;;) {
        const step = nextStep(challenge, req.answers);
        if (step.kind !== 'post') {
          return finish(log, step.kind === 'passed' ? { kind: 'passed', session: this.session() } : this.noteOutcome(step), posts);
        }
        // authentik allows 10 POSTs; unlike authentik, the answer to the 10th is still looked
        // at, so a flow that ends exactly there passes.
        if (posts >= MAX_POSTS) {
          return finish(log, { kind: 'error', reason: 'flow_error', message: 'exceeded stage recursion depth' }, posts);
        }
        stage = `challenge ${step.body.component}`;
        t0 = performance.now();
        challenge = await this.challenge('POST', url, JSON.stringify(step.body), signal);
        posts++;
        this.observe('post', req.flowSlug, stageOf(challenge), t0, log);
      }
    } catch (err) {
      const prefix = stage === 'initial GET' ? 'failed to get the initial challenge' : `failed to submit ${stage}`;
      return finish(log, this.noteOutcome(this.errorOutcome(err, prefix, req, deadline)), posts);
    } finally {
      deadline.dispose();
    }
  }

  /** Tell the outpost's failure log when an attempt ended because the core failed. */
  private noteOutcome(outcome: FlowOutcome): FlowOutcome {
    const failure = coreFailure(outcome);
    if (failure) this.deps.core.failures?.report(failure);
    return outcome;
  }

  /**
   * `GET /api/v3/core/applications/<slug>/check_access/` as the session's user. Throws a
   * `CoreError` (aborted | timeout | transport | status | invalid | too_large).
   */
  async checkAccess(appSlug: string, signal?: AbortSignal): Promise<AccessCheck> {
    const path = `/api/v3/core/applications/${encodeURIComponent(appSlug)}/check_access/`;
    const res = await this.getJson(path, accessCheckSchema, signal);
    return { passing: res.passing, messages: res.messages };
  }

  /**
   * authentik 2024.8+: `GET /api/v3/outposts/ldap/<pk>/check_access/?app_slug=<slug>` as the
   * session's user. Throws a `CoreError`.
   */
  async checkLdapAccess(providerPk: number, appSlug: string, signal?: AbortSignal): Promise<LdapAccess> {
    const res = await this.getJson(outpostCheckPath('ldap', providerPk, appSlug), ldapCheckAccessSchema, signal);
    return { access: { passing: res.access.passing, messages: res.access.messages }, hasSearchPermission: res.has_search_permission === true };
  }

  /**
   * authentik 2024.8+: `GET /api/v3/outposts/radius/<pk>/check_access/?app_slug=<slug>` as the
   * session's user. Throws a `CoreError`.
   */
  async checkRadiusAccess(providerPk: number, appSlug: string, signal?: AbortSignal): Promise<RadiusAccess> {
    const res = await this.getJson(outpostCheckPath('radius', providerPk, appSlug), radiusCheckAccessSchema, signal);
    return { access: { passing: res.access.passing, messages: res.access.messages }, attributes: res.attributes ?? undefined };
  }

  /** `GET /api/v3/core/users/me/` as the session's user. Throws a `CoreError`. */
  async userInfo(signal?: AbortSignal): Promise<UserSelf> {
    const { user: u } = await this.getJson('/api/v3/core/users/me/', userSelfEnvelopeSchema, signal);
    return {
      pk: u.pk,
      username: u.username,
      name: u.name,
      email: u.email,
      is_active: u.is_active,
      is_superuser: u.is_superuser,
      groups: u.groups.map((g) => ({ pk: g.pk, name: g.name })),
      uid: u.uid,
      attributes: u.attributes,
    };
  }

  /**
   * One GET of the flow's first challenge, to warm the core's flow cache. The body is ignored;
   * returns the `CoreError` for a transport error, a timeout or a non-2xx status.
   */
  async warmUp(flowSlug: string, params: FlowParams): Promise<CoreError | undefined> {
    const url = flowUrl(this.deps.core.origin, flowSlug, params);
    try {
      const res = await this.exchange('GET', url, undefined, undefined);
      if (!res.ok) throw res.statusError();
      return undefined;
    } catch (err) {
      const failure = coreFailure(err, 'flow');
      if (failure) this.deps.core.failures?.report(failure);
      if (err instanceof CoreError) return err;
      throw err;
    }
  }

  /** A GET as the session's user (the access checks, users/me). Throws `CoreError`. */
  private async getJson<S extends z.ZodType>(path: string, schema: S, signal: AbortSignal | undefined): Promise<z.output<S>> {
    const url = new URL(path, this.deps.core.origin);
    try {
      const res = await this.exchange('GET', url, undefined, signal);
      return parseWire(schema, res.json(), url.pathname);
    } catch (err) {
      const failure = coreFailure(err, 'user');
      if (failure) this.deps.core.failures?.report(failure);
      throw err;
    }
  }

  /** GET or POST the executor and parse the challenge it answers with. */
  private async challenge(method: 'GET' | 'POST', url: URL, body: string | undefined, signal: AbortSignal): Promise<Challenge> {
    const res = await this.exchange(method, url, body, signal);
    return parseWire(challengeSchema, res.json(), url.pathname);
  }

  /**
   * One request, following 302/303 as GET on the core's own origin (never elsewhere), storing
   * cookies from every response. Each hop has its own deadline; `signal` aborts them all.
   * Throws `CoreError`.
   */
  private async exchange(method: 'GET' | 'POST', url: URL, body: string | undefined, signal: AbortSignal | undefined): Promise<ExchangeResponse> {
    let current = url;
    let m = method;
    let payload = body;
    for (let hop = 0; ; hop++) {
      const res = await exchange({
        url: current,
        method: m,
        headers: this.headers(current, payload !== undefined),
        body: payload,
        dispatcher: this.deps.core.dispatcher,
        timeoutMs: this.requestTimeoutMs,
        signal,
        errorClass: CoreError,
        maxBodyBytes: MAX_FLOW_ANSWER_BYTES,
      });
      this.jar.store(res.headers['set-cookie'], current);
      if (res.status !== 302 && res.status !== 303) return res;
      current = this.redirectTarget(res, current, hop);
      m = 'GET';
      payload = undefined;
    }
  }

  /** Where a 302/303 leads: the core's own origin only, a bounded number of times. */
  private redirectTarget(res: ExchangeResponse, current: URL, hop: number): URL {
    const { method: m, path } = res;
    const location = res.headers['location'];
    if (typeof location !== 'string' || location === '') {
      throw new CoreError('invalid', path, `${m} ${path} answered ${res.status} without a Location`);
    }
    if (hop >= MAX_REDIRECTS) throw new CoreError('invalid', path, `${m} ${path}: more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new CoreError('invalid', path, `${m} ${path} redirected to an invalid Location`);
    }
    if (next.origin !== this.deps.core.origin) {
      throw new CoreError('invalid', path, `${m} ${path} redirected to another origin (${next.origin}); not followed`);
    }
    return next;
  }

  private headers(url: URL, json: boolean): Record<string, string> {
    const h: Record<string, string> = {
      'X-Authentik-Outpost-Token': this.deps.core.token,
      'User-Agent': this.deps.core.userAgent,
      Accept: 'application/json',
    };
    if (this.clientIp !== undefined) h['X-Authentik-Remote-Ip'] = this.clientIp;
    if (json) h['Content-Type'] = 'application/json';
    const cookie = this.jar.header(url);
    if (cookie !== undefined) h['Cookie'] = cookie;
    return h;
  }

  private observe(kind: 'get' | 'post', flowSlug: string, component: string, t0: number, log: Logger): void {
    const seconds = (performance.now() - t0) / 1000;
    log.debug({ component, method: kind.toUpperCase(), ms: Math.round(seconds * 1000) }, kind === 'get' ? 'Got challenge' : 'Got response');
    const m = this.deps.metrics;
    if (!m) return;
    try {
      if (kind === 'get') m.observeGet(flowSlug, component, seconds);
      else m.observePost(flowSlug, component, seconds);
    } catch (err) {
      log.warn({ err }, 'flow metrics sink failed');
    }
  }

  private errorOutcome(err: unknown, prefix: string, req: FlowRunRequest, deadline: Deadline): FlowOutcome {
    if (req.signal?.aborted) return { kind: 'error', reason: 'aborted', message: `${prefix}: aborted` };
    if (deadline.expired) {
      return { kind: 'error', reason: 'timeout', message: `${prefix}: the flow did not finish within ${this.attemptTimeoutMs} ms` };
    }
    if (err instanceof CoreError) {
      const message = `${prefix}: ${scrub(err.message, req.answers)}`;
      switch (err.code) {
        // Only our own signal aborts an exchange, and it is checked above; kept for the type.
        case 'aborted': return { kind: 'error', reason: 'aborted', message };
        case 'timeout': return { kind: 'error', reason: 'timeout', message };
        case 'transport': return { kind: 'error', reason: 'unreachable', message };
        case 'invalid':
        case 'too_large': return { kind: 'error', reason: 'invalid_response', message };
        case 'status': return { kind: 'error', reason: 'http_status', message, status: err.status };
      }
    }
    // A bug of ours, not the core's: still an outcome, never a crash of the listener.
    const what = err instanceof Error ? err.name : typeof err;
    return { kind: 'error', reason: 'flow_error', message: `${prefix}: internal error (${what})` };
  }

}

/** The stage label of a challenge; a 2024.4 redirect may come without a component. */
function stageOf(c: Challenge): string {
  return c.component || STAGE.redirect;
}

/** Log the outcome (messages are already free of secrets) and return it. */
function finish(log: Logger, outcome: FlowOutcome, posts: number): FlowOutcome {
  if (outcome.kind === 'passed') log.debug({ outcome: 'passed', posts }, 'Flow finished');
  else log.debug({ outcome: outcome.kind, reason: outcome.reason, error: outcome.message, posts }, 'Flow finished');
  return outcome;
}

function outpostCheckPath(kind: 'ldap' | 'radius', providerPk: number, appSlug: string): string {
  return `/api/v3/outposts/${kind}/${providerPk}/check_access/?app_slug=${encodeURIComponent(appSlug)}`;
}

/** `<origin>/api/v3/flows/executor/<slug>/?query=…` */
export function flowUrl(origin: string, flowSlug: string, params: FlowParams): URL {
  return new URL(`${EXECUTOR_PATH}${encodeURIComponent(flowSlug)}/?${encodeFlowQuery(params)}`, origin);
}

/** The params LDAP uses for bind, unbind and the invalidation flow. */
export const LDAP_PARAMS: FlowParams = { 'goauthentik.io/outpost/ldap': 'true' };
export const LDAP_WARMUP_PARAMS: FlowParams = { 'goauthentik.io/outpost/ldap-warmup': 'true' };
export const RADIUS_PARAMS: FlowParams = { 'goauthentik.io/outpost/radius': 'true' };

export interface EndSessionRequest {
  invalidationFlowSlug: string;
  /** The `authentik_session` value kept from the bind. */
  session: string;
  clientIp?: string;
  logFields?: Record<string, unknown>;
  signal?: AbortSignal;
}

/**
 * Run the invalidation flow for a stored session (LDAP unbind). Unlike authentik 2024.4, whose
 * `SetSession` never put the cookie in the jar, the session is really sent:
 * `Cookie: authentik_session=<value>`.
 */
export async function endSession(deps: FlowDeps, req: EndSessionRequest): Promise<FlowOutcome> {
  const fe = new FlowExecutor(deps, { clientIp: req.clientIp, logFields: req.logFields });
  fe.useSession(req.session);
  return fe.run({
    flowSlug: req.invalidationFlowSlug,
    params: LDAP_PARAMS,
    answers: { username: '', password: '' },
    signal: req.signal,
  });
}

/** One GET of the flow in a fresh jar (LDAP warm-up). Returns the error, if any. */
export async function warmUp(deps: FlowDeps, flowSlug: string, params: FlowParams = LDAP_WARMUP_PARAMS): Promise<CoreError | undefined> {
  return new FlowExecutor(deps).warmUp(flowSlug, params);
}
