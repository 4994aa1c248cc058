// Shared helpers for the development core's tests: starting a core, raw HTTP with a hand-kept
// session cookie, Django-style executor query strings, and the official-model required-field check.
import { existsSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { request } from 'undici';
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

export function startTestCore(opts: Partial<DevCoreOptions> = {}): Promise<DevCore> {
  return startDevCore({ seed: TEST_SEED, port: 0, logger: quietLogger(), ...opts });
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

// ---- required fields of the official 2024.4 models ----

const MODELS_DIR = new URL('../../node_modules/@goauthentik/api/src/models/', import.meta.url).pathname;

interface FieldInfo {
  camel: string;
  json: string;
  required: boolean;
  /** The model named by the field's type (element type for arrays), if it is an interface. */
  model: string | undefined;
  isArray: boolean;
}

const modelCache = new Map<string, FieldInfo[] | null>();

/** Fields of `<Model>.ts`: required = declared without `?` in the interface. Null for enums/unions. */
export function modelFields(model: string): FieldInfo[] | null {
  if (modelCache.has(model)) return modelCache.get(model) ?? null;
  const file = `${MODELS_DIR}${model}.ts`;
  if (!existsSync(file)) throw new Error(`no official model ${model}`);
  const src = readFileSync(file, 'utf8');
  const iface = new RegExp(`export interface ${model} \\{([\\s\\S]*?)\\n\\}`).exec(src);
  if (!iface) {
    modelCache.set(model, null);
    return null;
  }
  const jsonNames = new Map<string, string>();
  const fromJson = new RegExp(`export function ${model}FromJSONTyped[\\s\\S]*?return \\{([\\s\\S]*?)\\n    \\};`).exec(src);
  for (const line of (fromJson?.[1] ?? '').split('\n')) {
    const m = /^\s*'(\w+)':.*?json\['([^']+)'\]/.exec(line);
    if (m) jsonNames.set(m[1] as string, m[2] as string);
  }
  const fields: FieldInfo[] = [];
  for (const line of (iface[1] ?? '').split('\n')) {
    const m = /^\s*(?:readonly\s+)?(\w+)(\?)?:\s*(.+);\s*$/.exec(line);
    if (!m) continue;
    const camel = m[1] as string;
    let type = (m[3] as string).replace(/\s*\|\s*null$/, '').trim();
    let isArray = false;
    const arr = /^Array<(\w+)>$/.exec(type);
    if (arr) {
      isArray = true;
      type = arr[1] as string;
    }
    const named = /^[A-Z]\w*$/.test(type) && type !== 'Date' && existsSync(`${MODELS_DIR}${type}.ts`) ? type : undefined;
    const nested = named && modelFields(named) !== null ? named : undefined;
    fields.push({ camel, json: jsonNames.get(camel) ?? camel, required: m[2] === undefined, model: nested, isArray });
  }
  modelCache.set(model, fields);
  return fields;
}

/**
 * Every REQUIRED field of `model` (and of nested models that are present) must be in `value`
 * and not undefined. Returns the problems, each naming the JSON path and the model field.
 */
export function missingRequired(model: string, value: unknown, path = model): string[] {
  const problems: string[] = [];
  const fields = modelFields(model);
  if (fields === null) return problems;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object for ${model}`];
  const obj = value as Record<string, unknown>;
  for (const f of fields) {
    const v = obj[f.json];
    if (v === undefined) {
      if (f.required) problems.push(`${path}.${f.json} is missing (required by ${model}.${f.camel})`);
      continue;
    }
    if (v === null || !f.model) continue;
    if (f.isArray) {
      if (!Array.isArray(v)) problems.push(`${path}.${f.json}: expected an array of ${f.model}`);
      else v.forEach((item, i) => problems.push(...missingRequired(f.model as string, item, `${path}.${f.json}[${i}]`)));
    } else problems.push(...missingRequired(f.model, v, `${path}.${f.json}`));
  }
  return problems;
}
