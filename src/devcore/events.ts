// authentik's event log, as far as outposts write to it: `POST /api/v3/events/events/` (the proxy
// outpost's configuration_error), validated as authentik's EventSerializer (a DRF
// ModelSerializer over Event) validates it, answered 201 with the event as the serializer
// renders it. Kept in memory, bounded, for tests to read back through the admin API.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { drfDate } from './certs.ts';
import type { FieldErrors } from './lists.ts';
import type { AuthentikVersion } from './version.ts';

/** `EventAction` choices of authentik 2024.4 (@goauthentik/api 2024.4's EventActions). */
const ACTIONS_2024_4 = [
  'login', 'login_failed', 'logout', 'user_write', 'suspicious_request', 'password_set', 'secret_view', 'secret_rotate',
  'invitation_used', 'authorize_application', 'source_linked', 'impersonation_started', 'impersonation_ended',
  'flow_execution', 'policy_execution', 'policy_exception', 'property_mapping_exception', 'system_task_execution',
  'system_task_exception', 'system_exception', 'configuration_error', 'model_created', 'model_updated', 'model_deleted',
  'email_sent', 'update_available', 'custom_',
] as const;

/** Those of authentik 2026.8 (@goauthentik/api 2026.8's EventActions). */
const ACTIONS_2026_8 = [
  ...ACTIONS_2024_4,
  'user_offboarded', 'configuration_warning', 'export_ready', 'review_initiated', 'review_overdue', 'review_attested',
  'review_completed', 'access_request_created', 'access_request_approved', 'access_request_denied', 'access_request_revoked',
] as const;

const ACTIONS: Readonly<Record<AuthentikVersion, ReadonlySet<string>>> = {
  '2024.4': new Set(ACTIONS_2024_4),
  '2026.8': new Set(ACTIONS_2026_8),
};

/** authentik's default event retention. */
const DEFAULT_RETENTION_MS = 365 * 24 * 3600 * 1000;
/** DRF's ISO 8601 input format. */
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;

/** One event as the EventSerializer renders it. */
export interface EventJson {
  pk: string;
  user: unknown;
  action: string;
  app: string;
  context: unknown;
  client_ip: string | null;
  created: string;
  expires: string;
  brand: unknown;
}

type Parsed = { ok: true; value: Omit<EventJson, 'pk' | 'created'> } | { ok: false; errors: FieldErrors };

const REQUIRED = 'This field is required.';
const NOT_NULL = 'This field may not be null.';

/** An EventRequest body, checked field by field with DRF's messages. */
export function parseEventRequest(body: unknown, mode: AuthentikVersion, now: Date): Parsed {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const got = Array.isArray(body) ? 'list' : body === null ? 'NoneType' : typeof body === 'string' ? 'str' : typeof body === 'number' ? 'int' : typeof body;
    return { ok: false, errors: { non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`] } };
  }
  const b = body as Record<string, unknown>;
  const errors: FieldErrors = {};

  const action = b['action'];
  if (action === undefined) errors['action'] = [REQUIRED];
  else if (action === null) errors['action'] = [NOT_NULL];
  else if (typeof action !== 'string' || !ACTIONS[mode].has(action)) errors['action'] = [`"${typeof action === 'string' ? action : JSON.stringify(action)}" is not a valid choice.`];

  let app = b['app'];
  if (app === undefined) errors['app'] = [REQUIRED];
  else if (app === null) errors['app'] = [NOT_NULL];
  else if (typeof app === 'number') app = String(app);
  else if (typeof app !== 'string') errors['app'] = ['Not a valid string.'];
  else if (app.trim() === '') errors['app'] = ['This field may not be blank.'];

  const clientIp = b['client_ip'];
  if (clientIp !== undefined && clientIp !== null) {
    if (typeof clientIp !== 'string' || clientIp === '') errors['client_ip'] = [clientIp === '' ? 'This field may not be blank.' : 'Enter a valid IPv4 or IPv6 address.'];
    else if (isIP(clientIp.trim()) === 0) errors['client_ip'] = ['Enter a valid IPv4 or IPv6 address.'];
  }

  // user, context and brand are JSONFields with a default: any JSON value, not null.
  for (const key of ['user', 'context', 'brand'] as const) if (b[key] === null) errors[key] = [NOT_NULL];

  let expires = new Date(now.getTime() + DEFAULT_RETENTION_MS);
  const rawExpires = b['expires'];
  if (rawExpires !== undefined) {
    const t = typeof rawExpires === 'string' && ISO_DATETIME.test(rawExpires) ? Date.parse(rawExpires) : NaN;
    if (Number.isNaN(t)) errors['expires'] = ['Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'];
    else expires = new Date(t);
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      user: b['user'] ?? {},
      action: action as string,
      app: app as string,
      context: b['context'] ?? {},
      client_ip: typeof clientIp === 'string' ? clientIp.trim() : null,
      expires: drfDate(expires),
      brand: b['brand'] ?? {},
    },
  };
}

/** The events received, oldest first, bounded (the oldest are forgotten). */
export class EventLog {
  private items: EventJson[] = [];
  readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  add(value: Omit<EventJson, 'pk' | 'created'>, now: Date): EventJson {
    const { user, action, app, context, client_ip, expires, brand } = value;
    // The serializer's field order.
    const event: EventJson = { pk: randomUUID(), user, action, app, context, client_ip, created: drfDate(now), expires, brand };
    this.items.push(event);
    if (this.items.length > this.limit) this.items.splice(0, this.items.length - this.limit);
    return event;
  }

  list(): EventJson[] {
    return this.items.slice();
  }

  clear(): void {
    this.items = [];
  }
}
