// Shared helpers for the development core's tests: starting a core, raw HTTP with a hand-kept
// session cookie, Django-style executor query strings, and the official-model body checks.
import { existsSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { request } from 'undici';
import WebSocket from 'ws';
import { createRootLogger } from '../../src/log.ts';
import { startDevCore, type DevCore, type DevCoreOptions } from '../../src/devcore/index.ts';
import { quotePlus } from '../../src/devcore/querystring.ts';

export const TEST_SEED = new URL('../../config/devcore-test.yaml', import.meta.url).pathname;
export const DEMO_SEED = new URL('../../config/demo.yaml', import.meta.url).pathname;
export const ADMIN_TOKEN = 'devcore-admin';
export const LDAP_TOKEN = 'test-ldap-token';
export const RADIUS_TOKEN = 'test-radius-token';
export const PROXY_TOKEN = 'test-proxy-token';

/** A logger that swallows everything (tests assert on responses, not logs). */
export function quietLogger() {
  return createRootLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
}

/** A core on an ephemeral port; authentik 2024.4's API unless the test asks for another. */
export function startTestCore(opts: Partial<DevCoreOptions> = {}): Promise<DevCore> {
  return startDevCore({ seed: TEST_SEED, port: 0, logger: quietLogger(), authentikVersion: '2024.4', ...opts });
}

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export async function http(base: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: unknown; rawBody?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(`${base}${path}`, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers as Res['headers'], text, json };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The executor's `?query=` as the Go outpost builds it: params urlencoded, then encoded again. */
export function executorQuery(params: Record<string, string>): string {
  const inner = Object.entries(params)
    .map(([k, v]) => `${quotePlus(k)}=${quotePlus(v)}`)
    .join('&');
  return `?query=${quotePlus(inner)}`;
}

export const LDAP_QUERY = executorQuery({ 'goauthentik.io/outpost/ldap': 'true' });

/** A flow executor client that keeps the `authentik_session` cookie by hand (no redirects followed). */
export class FlowClient {
  cookie: string | undefined;
  readonly base: string;
  readonly extraHeaders: Record<string, string>;
  /** Every Set-Cookie value seen, newest last. */
  readonly cookies: string[] = [];

  constructor(base: string, extraHeaders: Record<string, string> = {}) {
    this.base = base;
    this.extraHeaders = extraHeaders;
  }

  private headers(): Record<string, string> {
    return { ...this.extraHeaders, ...(this.cookie ? { cookie: `authentik_session=${this.cookie}` } : {}) };
  }

  private keep(res: Res): Res {
    const sc = res.headers['set-cookie'];
    for (const c of Array.isArray(sc) ? sc : sc ? [sc] : []) {
      const m = /^authentik_session=([^;]*)/.exec(c);
      if (m) {
        this.cookie = m[1];
        this.cookies.push(c);
      }
    }
    return res;
  }

  async get(path: string): Promise<Res> {
    return this.keep(await http(this.base, 'GET', path, { headers: this.headers() }));
  }

  async post(path: string, body: unknown): Promise<Res> {
    return this.keep(await http(this.base, 'POST', path, { headers: this.headers(), body }));
  }

  /** POST, and when the answer is the 302 back to the executor, GET it like the Go client does. */
  async postFollow(path: string, body: unknown): Promise<Res> {
    const res = await this.post(path, body);
    if (res.status === 302 && typeof res.headers['location'] === 'string') return this.get(res.headers['location']);
    return res;
  }
}

/** Log a user in through id-embedded-flow (no MFA device); returns the client holding the session. */
export async function loginAs(base: string, username: string, password: string): Promise<FlowClient> {
  const c = new FlowClient(base);
  const url = '/api/v3/flows/executor/id-embedded-flow/';
  await c.get(url);
  let res = await c.post(url, { component: 'ak-stage-identification', uid_field: username, password });
  for (let i = 0; i < 10 && res.status === 302; i++) res = await c.get(url);
  if (res.json?.component !== 'xak-flow-redirect') throw new Error(`login of ${username} failed: ${res.text}`);
  return c;
}

/** The `sid` claim of an `authentik_session` cookie value (the core's session key). */
export function sidOf(cookie: string | undefined): string {
  const payload = JSON.parse(Buffer.from((cookie ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as { sid?: unknown };
  if (typeof payload.sid !== 'string') throw new Error('cookie without sid');
  return payload.sid;
}

/** An outpost's control channel as a test sees it: every message received, in order. */
export interface OutpostSocket {
  ws: WebSocket;
  messages: { instruction: number; args: Record<string, unknown> }[];
  close(): void;
}

export async function openOutpostSocket(core: { url: string; admin: { outpost(name: string): { pk: string } } }, outpost: string, token: string, query = ''): Promise<OutpostSocket> {
  const ws = new WebSocket(`${core.url.replace(/^http/, 'ws')}/ws/outpost/${core.admin.outpost(outpost).pk}/${query}`, { headers: bearer(token) });
  const messages: OutpostSocket['messages'] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as OutpostSocket['messages'][number]));
  await once(ws, 'open');
  return { ws, messages, close: () => ws.terminate() };
}

/** Poll until `fn` holds (or throw after `timeoutMs`). */
export async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- the official client models (@goauthentik/api 2024.4 and, aliased, 2026.8.3) ----

const MODELS_2024 = new URL('../../node_modules/@goauthentik/api/src/models/', import.meta.url).pathname;
const MODELS_2026 = new URL('../../node_modules/@goauthentik/api-2026/src/models/', import.meta.url).pathname;

/** A field type as the generated interface spells it (`string | null`, `Array<Provider>`, ...). */
type FieldType =
  | { kind: 'primitive'; name: 'string' | 'number' | 'boolean' | 'Date' | 'any' }
  | { kind: 'array'; of: FieldType }
  | { kind: 'dict'; of: FieldType }
  | { kind: 'ref'; name: string };

/** A field the real server sends as null although the generated model declares it non-nullable. */
export interface NullAllowance {
  /** The model's name (`Provider`). */
  model: string;
  /** The field's JSON name (`assigned_application_slug`). */
  field: string;
}

interface FieldInfo {
  camel: string;
  json: string;
  required: boolean;
  nullable: boolean;
  type: FieldType;
  /** The model named by the field's type (element type for arrays), if it is an interface. */
  model: string | undefined;
  isArray: boolean;
}

function parseFieldType(text: string): { type: FieldType; nullable: boolean } {
  let t = text.trim();
  let nullable = false;
  if (t.endsWith('| null')) {
    nullable = true;
    t = t.slice(0, -'| null'.length).trim();
  }
  const parse = (x: string): FieldType => {
    const arr = /^Array<(.+)>$/.exec(x);
    if (arr) return { kind: 'array', of: parse(arr[1] as string) };
    const dict = /^\{ \[key: string\]: (.+); \}$/.exec(x);
    if (dict) return { kind: 'dict', of: parse(dict[1] as string) };
    if (x === 'string' || x === 'number' || x === 'boolean' || x === 'Date' || x === 'any') return { kind: 'primitive', name: x };
    return { kind: 'ref', name: x };
  };
  return { type: parse(t), nullable };
}

/** The generated models of one client version, read from their TypeScript sources. */
export class OfficialModels {
  private readonly dir: string;
  private readonly cache = new Map<string, FieldInfo[] | null>();
  private readonly enums = new Map<string, Set<string> | null>();
  /** Models whose bodies may carry fields they do not declare (see the constructor). */
  private readonly open: Set<string>;
  /** `Model.json_field` that may be null although the model declares them non-nullable. */
  private readonly alsoNullable: Set<string>;

  /**
   * `open`: models the server fills from a dict rather than a serializer, so the real API sends
   * more keys than the schema names (e.g. `oidc_configuration` is the whole discovery document).
   * Models with an index signature (`[key: string]: any`) are open too.
   * `alsoNullable`: fields the real server sends as null although the generated model says they
   * never are (a schema bug); only null is let through, any other value is checked by type. Each
   * must name a field of the model that is declared non-nullable, or the constructor throws.
   */
  constructor(dir: string, open: readonly string[] = [], alsoNullable: readonly NullAllowance[] = []) {
    this.dir = dir;
    this.open = new Set(open);
    this.alsoNullable = new Set(alsoNullable.map((a) => `${a.model}.${a.field}`));
    for (const a of alsoNullable) {
      const f = this.has(a.model) ? this.fields(a.model)?.find((x) => x.json === a.field) : undefined;
      if (!f) throw new Error(`null allowance for ${a.model}.${a.field}: the model has no such field`);
    }
  }

  private source(model: string): string {
    const file = `${this.dir}${model}.ts`;
    if (!existsSync(file)) throw new Error(`no official model ${model}`);
    return readFileSync(file, 'utf8');
  }

  has(model: string): boolean {
    return /^[A-Z]\w*$/.test(model) && existsSync(`${this.dir}${model}.ts`);
  }

  /** Values of a string enum model (`export const XEnum = {...}`), without the generator's unknown marker. */
  enumValues(model: string): Set<string> | null {
    if (this.enums.has(model)) return this.enums.get(model) ?? null;
    const m = new RegExp(`export const ${model} = \\{([\\s\\S]*?)\\n\\} as const;`).exec(this.source(model));
    const values = m ? new Set([...(m[1] as string).matchAll(/:\s*'([^']*)'/g)].map((x) => x[1] as string).filter((v) => v !== '11184809')) : null;
    this.enums.set(model, values);
    return values;
  }

  /** Fields of `<Model>.ts`: required = declared without `?` in the interface. Null for enums/unions. */
  fields(model: string): FieldInfo[] | null {
    if (this.cache.has(model)) return this.cache.get(model) ?? null;
    const src = this.source(model);
    const iface = new RegExp(`export interface ${model} \\{([\\s\\S]*?)\\n\\}`).exec(src);
    if (!iface) {
      this.cache.set(model, null);
      return null;
    }
    if (/^\s*\[key: string\]/m.test(iface[1] ?? '')) this.open.add(model);
    const jsonNames = new Map<string, string>();
    const fromJson = new RegExp(`export function ${model}FromJSONTyped[\\s\\S]*?return \\{([\\s\\S]*?)\\n    \\};`).exec(src);
    for (const line of (fromJson?.[1] ?? '').split('\n')) {
      const m = /^\s*'(\w+)':.*?json\['([^']+)'\]/.exec(line);
      if (m) jsonNames.set(m[1] as string, m[2] as string);
    }
    const fields: FieldInfo[] = [];
    this.cache.set(model, fields); // recursive models see the list being built
    for (const line of (iface[1] ?? '').split('\n')) {
      const m = /^\s*(?:readonly\s+)?(\w+)(\?)?:\s*(.+);\s*$/.exec(line);
      if (!m) continue;
      const camel = m[1] as string;
      const { type, nullable } = parseFieldType(m[3] as string);
      const isArray = type.kind === 'array';
      const inner = type.kind === 'array' ? type.of : type;
      const named = inner.kind === 'ref' && this.has(inner.name) ? inner.name : undefined;
      const nested = named && this.fields(named) !== null ? named : undefined;
      const json = jsonNames.get(camel) ?? camel;
      const allowed = this.alsoNullable.has(`${model}.${json}`);
      if (allowed && nullable) throw new Error(`null allowance for ${model}.${json}: the model already declares it nullable`);
      fields.push({ camel, json, required: m[2] === undefined, nullable: nullable || allowed, type, model: nested, isArray });
    }
    return fields;
  }

  private typeProblems(t: FieldType, v: unknown, path: string, where: string): string[] {
    const bad = (expected: string) => [`${path}: expected ${expected}, got ${JSON.stringify(v)?.slice(0, 80)} (${where})`];
    switch (t.kind) {
      case 'primitive':
        if (t.name === 'any') return [];
        if (t.name === 'Date') return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? [] : bad('a date-time string');
        if (t.name === 'number') return typeof v === 'number' && Number.isFinite(v) ? [] : bad('a number');
        return typeof v === t.name ? [] : bad(`a ${t.name}`);
      case 'array':
        if (!Array.isArray(v)) return bad('an array');
        return v.flatMap((item, i) => (item === null ? [`${path}[${i}]: null in an array (${where})`] : this.typeProblems(t.of, item, `${path}[${i}]`, where)));
      case 'dict':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('an object');
        return Object.entries(v).flatMap(([k, item]) => this.typeProblems(t.of, item, `${path}.${k}`, where));
      case 'ref': {
        if (!this.has(t.name)) return [];
        if (this.fields(t.name) !== null) return this.check(t.name, v, path);
        const values = this.enumValues(t.name);
        if (values === null) return []; // a union type alias: its FromJSON dispatches it
        return typeof v === 'string' && values.has(v) ? [] : bad(`one of ${[...values].join(', ')} (${t.name})`);
      }
    }
  }

  /**
   * The full check of a body against a model: required fields present, no field the model does
   * not have (a leftover of another version), every present field of its declared type
   * (null only where the model allows it), recursing into nested models and enums.
   */
  check(model: string, value: unknown, path = model): string[] {
    const fields = this.fields(model);
    if (fields === null) return [];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object for ${model}`];
    const obj = value as Record<string, unknown>;
    const problems: string[] = [];
    const known = new Set(fields.map((f) => f.json));
    if (!this.open.has(model)) for (const key of Object.keys(obj)) if (!known.has(key)) problems.push(`${path}.${key} is not a field of ${model}`);
    for (const f of fields) {
      const v = obj[f.json];
      if (v === undefined) {
        if (f.required) problems.push(`${path}.${f.json} is missing (required by ${model}.${f.camel})`);
        continue;
      }
      if (v === null) {
        if (!f.nullable) problems.push(`${path}.${f.json} is null (${model}.${f.camel} is not nullable)`);
        continue;
      }
      problems.push(...this.typeProblems(f.type, v, `${path}.${f.json}`, `${model}.${f.camel}`));
    }
    return problems;
  }
}

/** The 2024.4 contract builds its own models, with its allow-list of nulls (contract.test.ts). */
export { MODELS_2024 };
/** authentik's ProxyOutpostConfigSerializer returns the provider's whole OIDC discovery document. */
export const models2026 = new OfficialModels(MODELS_2026, ['OpenIDConnectConfiguration']);
