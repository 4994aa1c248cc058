// The flow executor (`/api/v3/flows/executor/<slug>/`): plans per session, scripted stages, and
// authentik 2024.4's response rules: a challenge (200), a raw 302 back to the executor when
// the re-encoded URL equals the request's full path, or else a JSON `xak-flow-redirect`.
// In 2026.8 mode challenges have no `type` (gone since 2024.8) and device challenges a `last_used`.
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { drfDate } from './certs.ts';
import type { FlowRec, OutpostRec, Store, UserRec } from './model.ts';
import { verifyPassword } from './password.ts';
import { parseQs, qsGet, urlencodeQueryDict, type QueryPairs } from './querystring.ts';
import { avatarOf, DEFAULT_AVATAR, type Json } from './serialize.ts';
import type { DeviceClass, StageSpec } from './seed.ts';
import type { DeviceChallengeJson, FlowPlan, Session, SessionStore } from './sessions.ts';
import { verifyTotp } from './totp.ts';

export const EXECUTOR_PREFIX = '/api/v3/flows/executor/';

export interface ExecRequest {
  method: 'GET' | 'POST';
  slug: string;
  /** Request path as received (`/api/v3/flows/executor/<slug>/`). */
  path: string;
  /** Raw query string without the `?`. */
  rawQuery: string;
  /** Parsed POST body (JSON or form), or undefined. */
  body: unknown;
  /** Set when the POST body could not be parsed (DRF's ParseError, surfaced as a flow error). */
  bodyError?: string | undefined;
  /** The session from the cookie, if any. */
  session: Session | undefined;
  /** The outpost whose token came in X-authentik-outpost-token (valid token), if any. */
  outpostToken: OutpostRec | null;
  /** The delegated client IP when both outpost headers are valid (authentik's "outpost user"). */
  delegatedIp: string | null;
}

export interface ExecResponse {
  status: number;
  body?: Json;
  location?: string;
  /** The session whose cookie to set, or null when the request did not touch a session. */
  session: Session | null;
}

export interface FlowEngineOptions {
  store: Store;
  sessions: SessionStore;
  logger: Logger;
  duoDelayMs: number;
  totpReplayProtection: boolean;
  /** Called with the session key when a logged-in session logs out (proxy outposts get a logout). */
  onLogout?: (sessionKey: string) => void;
}

class FlowNonApplicable extends Error {}
class FlowStageError extends Error {}
/** Django's Http404 raised inside a stage: the executor turns it into a flow-error challenge. */
class StageHttp404 extends Error {}

type Errors = Record<string, { string: string; code: string }[]>;
type Anonymous = { kind: 'anonymous' };
type Pretend = { kind: 'pretend'; username: string };
type Pending = { kind: 'user'; user: UserRec } | Pretend | Anonymous;

interface Ctx {
  req: ExecRequest;
  flow: FlowRec;
  session: Session;
  /** The executor's in-memory plan (kept after cancel(), like authentik's `self.plan`). */
  plan: FlowPlan | null;
  outer: QueryPairs;
  fullPath: string;
}

const CANCEL_URL = '/flows/-/cancel/';
const FLOW_BACKGROUND = '/static/dist/assets/images/flow_background.jpg';

function isUrlAbsolute(url: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url) || url.startsWith('//');
}

function addError(errors: Errors, field: string, message: string, code = 'invalid'): void {
  (errors[field] ??= []).push({ string: message, code });
}

/** DRF CharField: returns the string or records the error. `trim` mirrors trim_whitespace. */
function charField(
  body: Record<string, unknown>,
  field: string,
  errors: Errors,
  opts: { required: boolean; allowBlank?: boolean; allowNull?: boolean; trim?: boolean },
): string | null | undefined {
  if (!(field in body) || body[field] === undefined) {
    if (opts.required) addError(errors, field, 'This field is required.', 'required');
    return undefined;
  }
  const v = body[field];
  if (v === null) {
    if (opts.allowNull) return null;
    addError(errors, field, 'This field may not be null.', 'null');
    return undefined;
  }
  if (typeof v === 'boolean' || typeof v === 'object') {
    addError(errors, field, 'Not a valid string.', 'invalid');
    return undefined;
  }
  let s = String(v);
  if (opts.trim !== false) s = s.trim();
  if (s === '' && !opts.allowBlank) {
    addError(errors, field, 'This field may not be blank.', 'blank');
    return undefined;
  }
  return s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FlowEngine {
  private readonly store: Store;
  private readonly sessions: SessionStore;
  private readonly logger: Logger;
  private readonly opts: FlowEngineOptions;

  constructor(opts: FlowEngineOptions) {
    this.store = opts.store;
    this.sessions = opts.sessions;
    this.logger = opts.logger;
    this.opts = opts;
  }

  async handle(req: ExecRequest): Promise<ExecResponse> {
    const flow = this.store.flows.get(req.slug);
    if (!flow) return { status: 404, body: { detail: 'Not found.' }, session: null };
    const session = req.session ?? this.sessions.create();
    if (req.outpostToken) session.outpost = req.outpostToken.name;
    if (req.delegatedIp) session.remoteIp = req.delegatedIp;
    const ctx: Ctx = {
      req,
      flow,
      session,
      plan: null,
      outer: parseQs(req.rawQuery),
      fullPath: req.rawQuery ? `${req.path}?${req.rawQuery}` : req.path,
    };
    let res: Omit<ExecResponse, 'session'>;
    try {
      res = await this.dispatch(ctx);
    } catch (err) {
      res = this.flowError(ctx, err);
    }
    return { ...res, session: ctx.session };
  }

  // ---- executor (authentik/flows/views/executor.py) ----

  private async dispatch(ctx: Ctx): Promise<Omit<ExecResponse, 'session'>> {
    const { session, flow } = ctx;
    const getParams = parseQs(qsGet(ctx.outer, 'query') ?? '');
    let plan = session.plan;
    if (plan && plan.flowSlug !== flow.slug) {
      this.logger.debug({ flow: flow.slug, other: plan.flowSlug }, 'found existing plan for other flow, deleting plan');
      plan = null;
      this.cancel(ctx);
    }
    session.get = getParams;
    session.lastFlowQuery = getParams;
    if (!plan) {
      try {
        plan = this.initiatePlan(ctx);
      } catch (err) {
        if (!(err instanceof FlowNonApplicable)) throw err;
        if (flow.designation === 'authentication' && this.sessions.authenticatedUser(session)) return this.flowDone(ctx);
        return this.handleInvalidFlow(ctx);
      }
      if (plan.bindings.length === 0) return this.flowDone(ctx);
      session.plan = plan;
    }
    ctx.plan = plan;
    const stage = plan.bindings[0];
    if (!stage) return this.flowDone(ctx);
    return ctx.req.method === 'GET' ? this.stageGet(ctx, stage) : this.stagePost(ctx, stage);
  }

  private initiatePlan(ctx: Ctx): FlowPlan {
    const user = this.sessions.authenticatedUser(ctx.session);
    switch (ctx.flow.authentication) {
      case 'require_authenticated':
        if (!user) throw new FlowNonApplicable();
        break;
      case 'require_unauthenticated':
        if (user) throw new FlowNonApplicable();
        break;
      case 'require_superuser':
        if (!user || !this.store.isSuperuser(user)) throw new FlowNonApplicable();
        break;
      case 'require_outpost':
        if (!ctx.req.delegatedIp) throw new FlowNonApplicable();
        break;
      case 'none':
        break;
    }
    const plan: FlowPlan = { flowSlug: ctx.flow.slug, bindings: [...ctx.flow.stages], context: {} };
    if (ctx.req.delegatedIp && ctx.req.outpostToken) plan.context.outpost = ctx.req.outpostToken.name;
    return plan;
  }

  private handleInvalidFlow(ctx: Ctx): Omit<ExecResponse, 'session'> {
    const denied = ctx.flow.deniedAction;
    if (denied === 'continue' || denied === 'message_continue') {
      const next = qsGet(ctx.outer, 'next');
      if (next && !isUrlAbsolute(next)) return this.redirect(ctx, next);
    }
    if (denied === 'continue') return this.redirect(ctx, '/');
    return this.stageInvalid(ctx, 'Flow does not apply to current user.');
  }

  private cancel(ctx: Ctx): void {
    ctx.session.plan = null;
    ctx.session.get = null;
  }

  /** `redirect_with_qs("authentik_api:flow-executor", request.GET)`. */
  private executorUrl(ctx: Ctx): string {
    const qs = urlencodeQueryDict(ctx.outer);
    return `${EXECUTOR_PREFIX}${ctx.flow.slug}/${qs ? `?${qs}` : ''}`;
  }

  /** `to_stage_response`: a raw 302 only when it points at the request's own full path. */
  private redirect(ctx: Ctx, url: string): Omit<ExecResponse, 'session'> {
    if (url === ctx.fullPath) return { status: 302, location: url };
    return { status: 200, body: { ...this.typeField('redirect'), component: 'xak-flow-redirect', to: url } };
  }

  private stageOk(ctx: Ctx): Omit<ExecResponse, 'session'> {
    const plan = ctx.plan as FlowPlan;
    plan.bindings.shift();
    ctx.session.plan = plan;
    if (plan.bindings.length > 0) return this.redirect(ctx, this.executorUrl(ctx));
    return this.flowDone(ctx);
  }

  private flowDone(ctx: Ctx): Omit<ExecResponse, 'session'> {
    const next = qsGet(ctx.session.get ?? [], 'next') ?? '/';
    this.cancel(ctx);
    if (next && !isUrlAbsolute(next)) return this.redirect(ctx, next);
    return this.stageInvalid(ctx, 'Invalid next URL');
  }

  private stageInvalid(ctx: Ctx, message?: string): Omit<ExecResponse, 'session'> {
    this.cancel(ctx);
    return this.challenge({
      ...this.base(ctx, 'ak-stage-access-denied'),
      ...this.userInfo(ctx),
      error_message: message ?? 'Unknown error',
    });
  }

  private flowError(ctx: Ctx, err: unknown): Omit<ExecResponse, 'session'> {
    const e = err instanceof Error ? err : new Error(String(err));
    if (!(e instanceof FlowStageError) && !(e instanceof StageHttp404)) this.logger.warn({ err: e, flow: ctx.flow.slug }, 'exception during flow execution');
    const body: Json = { ...this.typeField('native'), component: 'ak-stage-flow-error', request_id: randomBytes(16).toString('hex') };
    const user = this.sessions.authenticatedUser(ctx.session);
    // authentik shows the error and traceback to superusers only.
    if (user && this.store.isSuperuser(user)) {
      body['error'] = e.message;
      body['traceback'] = e.stack ?? e.message;
    }
    return { status: 200, body };
  }

  // ---- challenge helpers (authentik/flows/stage.py) ----

  private challenge(body: Json, errors?: Errors): Omit<ExecResponse, 'session'> {
    return { status: 200, body: errors ? { ...body, response_errors: errors } : body };
  }

  /** 2024.4's challenge `type` (native, redirect); later releases dropped the field. */
  private typeField(type: 'native' | 'redirect'): Json {
    return this.store.mode === '2024.4' ? { type } : {};
  }

  private base(ctx: Ctx, component: string): Json {
    return {
      ...this.typeField('native'),
      flow_info: { title: ctx.flow.title, background: FLOW_BACKGROUND, cancel_url: CANCEL_URL, layout: ctx.flow.layout },
      component,
    };
  }

  /** `get_pending_user()`: the plan's pending user, else the session's user, else anonymous. */
  private pending(ctx: Ctx): Pending {
    const p = ctx.plan?.context.pendingUser;
    if (p?.kind === 'pretend') return p;
    if (p?.kind === 'user') {
      const u = this.store.users.get(p.pk);
      return u ? { kind: 'user', user: u } : { kind: 'pretend', username: '' };
    }
    const u = this.sessions.authenticatedUser(ctx.session);
    return u ? { kind: 'user', user: u } : { kind: 'anonymous' };
  }

  /** `pending_user` / `pending_user_avatar` of WithUserInfoChallenge. */
  private userInfo(ctx: Ctx): Json {
    const ident = ctx.plan?.context.pendingUserIdentifier;
    if (ident !== undefined) return { pending_user: ident, pending_user_avatar: avatarOf(this.store, { name: '', username: ident } as UserRec) };
    const p = this.pending(ctx);
    if (p.kind === 'anonymous') return { pending_user: '', pending_user_avatar: DEFAULT_AVATAR };
    if (p.kind === 'pretend') return { pending_user: p.username, pending_user_avatar: avatarOf(this.store, { name: '', username: p.username } as UserRec) };
    return { pending_user: p.user.username, pending_user_avatar: avatarOf(this.store, p.user) };
  }

  private bodyOf(ctx: Ctx): Record<string, unknown> {
    if (ctx.req.bodyError !== undefined) throw new FlowStageError(`JSON parse error - ${ctx.req.bodyError}`);
    return isRecord(ctx.req.body) ? ctx.req.body : {};
  }

  // ---- stages ----

  private async stageGet(ctx: Ctx, stage: StageSpec): Promise<Omit<ExecResponse, 'session'>> {
    switch (stage.kind) {
      case 'identification':
        return this.challenge(this.identificationChallenge(ctx, stage));
      case 'password':
        return this.challenge(this.passwordChallenge(ctx));
      case 'authenticator_validate':
        return this.validateGet(ctx, stage);
      case 'user_login':
        return stage.remember_me_offset > 0 ? this.challenge(this.userLoginChallenge(ctx)) : this.doLogin(ctx);
      case 'user_logout':
        return this.doLogout(ctx);
      case 'deny':
        return this.stageInvalid(ctx, stage.message);
      case 'consent':
        return this.challenge(this.consentChallenge(ctx));
      case 'flow_error':
        throw new FlowStageError(stage.message);
      case 'endless':
        return this.challenge(this.endlessChallenge(ctx, stage.component));
    }
  }

  private async stagePost(ctx: Ctx, stage: StageSpec): Promise<Omit<ExecResponse, 'session'>> {
    switch (stage.kind) {
      case 'identification':
        return this.identificationPost(ctx, stage);
      case 'password':
        return this.passwordPost(ctx, stage);
      case 'authenticator_validate':
        return this.validatePost(ctx);
      case 'user_login': {
        const errors: Errors = {};
        const body = this.bodyOf(ctx);
        const v = body['remember_me'];
        if (v === undefined) addError(errors, 'remember_me', 'This field is required.', 'required');
        else if (![true, false, 'true', 'false', 'True', 'False', 1, 0, '1', '0'].includes(v as never)) addError(errors, 'remember_me', 'Must be a valid boolean.');
        if (Object.keys(errors).length > 0) return this.challenge(this.userLoginChallenge(ctx), errors);
        return this.doLogin(ctx);
      }
      case 'user_logout':
        return this.doLogout(ctx);
      case 'deny':
        return this.stageInvalid(ctx, stage.message);
      case 'consent': {
        const body = this.bodyOf(ctx);
        if (ctx.session.consentToken !== null && body['token'] === ctx.session.consentToken) return this.stageOk(ctx);
        const errors: Errors = {};
        addError(errors, 'token', 'Invalid consent token, will show again');
        return this.challenge(this.consentChallenge(ctx), errors);
      }
      case 'flow_error':
        throw new FlowStageError(stage.message);
      case 'endless':
        this.bodyOf(ctx);
        // Accept anything and show the same stage again: the flow never finishes.
        return this.redirect(ctx, this.executorUrl(ctx));
    }
  }

  private identificationChallenge(ctx: Ctx, stage: Extract<StageSpec, { kind: 'identification' }>): Json {
    return {
      ...this.base(ctx, 'ak-stage-identification'),
      user_fields: stage.user_fields,
      password_fields: stage.password_stage,
      flow_designation: ctx.flow.designation,
      primary_action: ctx.flow.designation === 'authentication' ? 'Log in' : 'Continue',
      sources: [],
      show_source_labels: stage.show_source_labels,
    };
  }

  private async identificationPost(ctx: Ctx, stage: Extract<StageSpec, { kind: 'identification' }>): Promise<Omit<ExecResponse, 'session'>> {
    const body = this.bodyOf(ctx);
    const errors: Errors = {};
    const uid = charField(body, 'uid_field', errors, { required: true });
    const password = charField(body, 'password', errors, { required: false, allowBlank: true, allowNull: true });
    if (Object.keys(errors).length > 0 || typeof uid !== 'string') return this.challenge(this.identificationChallenge(ctx, stage), errors);
    const plan = ctx.plan as FlowPlan;
    const user = this.store.findUserForIdentification(uid, stage.user_fields, stage.case_insensitive_matching);
    let pre: { kind: 'user'; pk: number } | Pretend;
    if (!user) {
      // authentik sleeps 90–210 ms on an unknown identifier to blunt user enumeration.
      await sleep(30 * randomInt(3, 8));
      plan.context.pendingUser = { kind: 'pretend', username: uid };
      if (!stage.show_matched_user) plan.context.pendingUserIdentifier = uid;
      if (!(stage.pretend_user_exists && !stage.password_stage)) {
        addError(errors, 'non_field_errors', 'Failed to authenticate.');
        return this.challenge(this.identificationChallenge(ctx, stage), errors);
      }
      pre = { kind: 'pretend', username: uid };
    } else {
      pre = { kind: 'user', pk: user.pk };
      if (stage.password_stage) {
        const authed = password === null || password === undefined ? null : this.authenticate(user.username, password);
        if (!authed) {
          addError(errors, 'non_field_errors', 'Failed to authenticate.');
          return this.challenge(this.identificationChallenge(ctx, stage), errors);
        }
      }
    }
    plan.context.pendingUser = pre;
    if (!stage.show_matched_user) plan.context.pendingUserIdentifier = uid;
    return this.stageOk(ctx);
  }

  /** Django's ModelBackend: exact username, password check, active users only. */
  private authenticate(username: string, password: string): UserRec | null {
    const u = this.store.userByUsername(username);
    if (!u) return null;
    if (!verifyPasswordOf(u, password)) return null;
    return u.isActive ? u : null;
  }

  private passwordChallenge(ctx: Ctx): Json {
    return { ...this.base(ctx, 'ak-stage-password'), ...this.userInfo(ctx) };
  }

  private passwordPost(ctx: Ctx, stage: Extract<StageSpec, { kind: 'password' }>): Omit<ExecResponse, 'session'> {
    const body = this.bodyOf(ctx);
    const errors: Errors = {};
    const password = charField(body, 'password', errors, { required: true, trim: false });
    if (typeof password !== 'string') return this.passwordInvalid(ctx, stage, errors);
    const pending = ctx.plan?.context.pendingUser;
    if (!pending) return this.stageInvalid(ctx);
    const target = pending.kind === 'user' ? this.store.users.get(pending.pk) : undefined;
    const user = target ? this.authenticate(target.username, password) : null;
    if (!user) {
      addError(errors, 'password', 'Invalid password');
      return this.passwordInvalid(ctx, stage, errors);
    }
    (ctx.plan as FlowPlan).context.pendingUser = { kind: 'user', pk: user.pk };
    return this.stageOk(ctx);
  }

  /** The password stage counts invalid answers per session and gives up after the limit. */
  private passwordInvalid(ctx: Ctx, stage: Extract<StageSpec, { kind: 'password' }>, errors: Errors): Omit<ExecResponse, 'session'> {
    ctx.session.invalidTries++;
    if (ctx.session.invalidTries > stage.failed_attempts_before_cancel) {
      ctx.session.invalidTries = 0;
      return this.stageInvalid(ctx);
    }
    return this.challenge(this.passwordChallenge(ctx), errors);
  }

  private deviceChallenges(ctx: Ctx, user: UserRec, classes: readonly DeviceClass[]): DeviceChallengeJson[] {
    const out: DeviceChallengeJson[] = [];
    const seen = new Set<string>();
    const devices = this.store.devicesOf(user.pk);
    for (const d of devices) {
      if (!classes.includes(d.kind) || seen.has(d.kind)) continue;
      seen.add(d.kind);
      let challenge: Record<string, unknown> = {};
      if (d.kind === 'webauthn') {
        challenge = {
          challenge: randomBytes(32).toString('base64url'),
          timeout: 60000,
          rpId: 'localhost',
          allowCredentials: devices.filter((x) => x.kind === 'webauthn').map((x) => ({ type: 'public-key', id: (x as { credentialId: string }).credentialId })),
          userVerification: 'preferred',
        };
      }
      out.push({ device_class: d.kind, device_uid: String(d.pk), challenge, ...(this.store.mode === '2024.4' ? {} : { last_used: d.lastUsed }) });
    }
    return out;
  }

  private validateChallenge(ctx: Ctx): Json {
    return {
      ...this.base(ctx, 'ak-stage-authenticator-validate'),
      ...this.userInfo(ctx),
      device_challenges: ctx.session.deviceChallenges ?? [],
      configuration_stages: [],
    };
  }

  private validateGet(ctx: Ctx, stage: Extract<StageSpec, { kind: 'authenticator_validate' }>): Omit<ExecResponse, 'session'> {
    const p = this.pending(ctx);
    let challenges: DeviceChallengeJson[];
    if (p.kind === 'user') challenges = this.deviceChallenges(ctx, p.user, stage.device_classes);
    else if (p.kind === 'pretend') challenges = [];
    else {
      if (ctx.flow.designation !== 'authentication') return this.stageOk(ctx);
      if (!stage.device_classes.includes('webauthn')) return this.stageOk(ctx);
      // Passwordless: a WebAuthn challenge without a user.
      challenges = [
        {
          device_class: 'webauthn',
          device_uid: '-1',
          challenge: { challenge: randomBytes(32).toString('base64url'), timeout: 60000, rpId: 'localhost', allowCredentials: [], userVerification: 'preferred' },
          ...(this.store.mode === '2024.4' ? {} : { last_used: null }),
        },
      ];
    }
    ctx.session.deviceChallenges = challenges;
    if (challenges.length === 0) {
      if (stage.not_configured_action === 'skip') return this.stageOk(ctx);
      // deny, and configure without configuration stages, both end in access denied.
      return this.stageInvalid(ctx);
    }
    return this.challenge(this.validateChallenge(ctx));
  }

  private allowed(ctx: Ctx, classes: string[]): boolean {
    return (ctx.session.deviceChallenges ?? []).some((c) => classes.includes(c.device_class));
  }

  private async validatePost(ctx: Ctx): Promise<Omit<ExecResponse, 'session'>> {
    const body = this.bodyOf(ctx);
    const errors: Errors = {};
    const p = this.pending(ctx);
    const user = p.kind === 'user' ? p.user : null;
    // Fields in the serializer's declaration order: selected_challenge, selected_stage, code, webauthn, duo.
    if ('selected_challenge' in body && body['selected_challenge'] !== undefined) {
      const sel = body['selected_challenge'];
      const ok =
        isRecord(sel) &&
        (ctx.session.deviceChallenges ?? []).some((c) => c.device_class === String(sel['device_class'] ?? '') && c.device_uid === String(sel['device_uid'] ?? ''));
      if (!ok) addError(errors, 'selected_challenge', 'invalid challenge selected');
    }
    const code = charField(body, 'code', errors, { required: false });
    if (typeof code === 'string') {
      if (!this.allowed(ctx, ['totp', 'static', 'sms'])) addError(errors, 'code', 'No compatible device class allowed');
      else if (!user || !this.matchToken(user, code)) addError(errors, 'code', 'Invalid Token');
    }
    if ('webauthn' in body && body['webauthn'] !== undefined) {
      if (!this.allowed(ctx, ['webauthn'])) addError(errors, 'webauthn', 'No compatible device class allowed');
      else addError(errors, 'webauthn', 'Invalid device');
    }
    let duoGiven = false;
    if ('duo' in body && body['duo'] !== undefined) {
      duoGiven = true;
      const raw = body['duo'];
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*[+-]?\d+\s*$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(n)) addError(errors, 'duo', 'A valid integer is required.');
      else if (!this.allowed(ctx, ['duo'])) addError(errors, 'duo', 'No compatible device class allowed');
      else {
        const device = this.store.duoDevice(n);
        // authentik raises Http404 for an unknown device or one of another user.
        if (!device || !user || device.userPk !== user.pk) throw new StageHttp404('No DuoDevice matches the given query.');
        await sleep(this.opts.duoDelayMs);
        if (device.result !== 'allow') addError(errors, 'duo', 'Duo denied access', 'denied');
        else device.lastUsed = drfDate(new Date());
      }
    }
    if (Object.keys(errors).length === 0 && code === undefined && !('webauthn' in body && body['webauthn'] !== undefined) && !duoGiven) {
      addError(errors, 'non_field_errors', 'Empty response');
    }
    if (Object.keys(errors).length > 0) return this.challenge(this.validateChallenge(ctx), errors);
    return this.stageOk(ctx);
  }

  /** django-otp's `match_token`: every confirmed static and TOTP device of the user. */
  private matchToken(user: UserRec, code: string): boolean {
    for (const d of this.store.devicesOf(user.pk)) {
      if (d.kind === 'static') {
        const i = d.tokens.indexOf(code);
        if (i >= 0) {
          d.tokens.splice(i, 1); // a static token works once
          d.lastUsed = drfDate(new Date());
          return true;
        }
      } else if (d.kind === 'totp') {
        if (verifyTotp(d, code, { replayProtection: this.opts.totpReplayProtection })) {
          d.lastUsed = drfDate(new Date());
          return true;
        }
      }
    }
    return false;
  }

  private userLoginChallenge(ctx: Ctx): Json {
    return { ...this.base(ctx, 'ak-stage-user-login'), ...this.userInfo(ctx) };
  }

  private doLogin(ctx: Ctx): Omit<ExecResponse, 'session'> {
    const pending = ctx.plan?.context.pendingUser;
    if (!pending) return this.stageInvalid(ctx, 'No Pending user to login.');
    const user = pending.kind === 'user' ? this.store.users.get(pending.pk) : undefined;
    if (!user || !user.isActive) return this.stageInvalid(ctx);
    this.sessions.login(ctx.session, user);
    this.store.recordLogin(user);
    this.logger.debug({ user: user.username, flow: ctx.flow.slug }, 'user logged in');
    return this.stageOk(ctx);
  }

  private doLogout(ctx: Ctx): Omit<ExecResponse, 'session'> {
    const old = ctx.session;
    if (this.sessions.authenticatedUser(old)) this.opts.onLogout?.(old.key);
    const fresh = this.sessions.flush(old);
    fresh.outpost = old.outpost;
    fresh.remoteIp = old.remoteIp;
    fresh.get = old.get;
    fresh.lastFlowQuery = old.lastFlowQuery;
    ctx.session = fresh;
    return this.stageOk(ctx);
  }

  private consentChallenge(ctx: Ctx): Json {
    ctx.session.consentToken ??= randomBytes(16).toString('hex');
    return {
      ...this.base(ctx, 'ak-stage-consent'),
      ...this.userInfo(ctx),
      header_text: '',
      permissions: [],
      additional_permissions: [],
      token: ctx.session.consentToken,
    };
  }

  private endlessChallenge(ctx: Ctx, component: Extract<StageSpec, { kind: 'endless' }>['component']): Json {
    switch (component) {
      case 'ak-stage-identification':
        return {
          ...this.base(ctx, component),
          user_fields: ['username', 'email'],
          password_fields: false,
          flow_designation: ctx.flow.designation,
          primary_action: 'Log in',
          sources: [],
          show_source_labels: false,
        };
      case 'ak-stage-authenticator-validate':
        return {
          ...this.base(ctx, component),
          ...this.userInfo(ctx),
          device_challenges: [{ device_class: 'totp', device_uid: '0', challenge: {}, ...(this.store.mode === '2024.4' ? {} : { last_used: null }) }],
          configuration_stages: [],
        };
      case 'ak-stage-user-login':
        return this.userLoginChallenge(ctx);
      case 'ak-stage-password':
        return this.passwordChallenge(ctx);
    }
  }
}

function verifyPasswordOf(u: UserRec, password: string): boolean {
  return verifyPassword(u.password, password);
}
