// The virtual directory's entries (ldap.md §4.4–§4.7): DN layout of a provider, the number
// formulas, rendering of authentik's custom attributes, and the pure entry builders.
//
// Decisions, each against authentik 2024.4 (ldap.md §9 item 11):
// - Every DN below the base uses the base DN lower-cased and in canonical RFC 4514 form
//   (`<b>`), and names are escaped with `escapeDnValue` (authentik inserted them raw, so a
//   group `a,b` produced a broken DN). The base entry itself keeps the configured case, as
//   authentik does (checklist §10 item 22), only re-formatted canonically (`dc=a, dc=b` →
//   `dc=a,dc=b`).
// - Custom attributes override built-ins (authentik since 2021.9.1), EXCEPT the attributes
//   that make an entry what it is: `objectClass`, `cn` (the RDN: RFC 4512 §2.3 requires the RDN
//   value among the entry's values), `memberOf` on users, `member` and `memberOf` on groups (derived from
//   the core's memberships), and our operational `entryDN` / `subschemaSubentry`. Keeping them
//   fixed is what lets the searcher skip whole sections by object class and push `cn` /
//   membership tests down to the core without ever changing a result.
// - Containers get an `ou` attribute (their RDN) next to authentik's distinguishedName,
//   objectClass and commonName; the base entry gets its RDN attribute (e.g. `dc: ldap`).
// - Every entry carries `entryDN` and `subschemaSubentry` as operational attributes (returned
//   only when asked for by name or with `+`).
import {
  ControlOid,
  ExtendedOid,
  SUBSCHEMA_DN,
  type BerWriter,
  type EncodedEntries,
  type StoredAttribute,
  attributeKey,
  escapeDnValue,
  formatDn,
  normalizeAttributeType,
  parseDn,
  subschemaAttributes,
  type Dn,
} from '../protocol/index.ts';
import type { Attribute, LdapEntry } from '../entry.ts';
import { AUTHENTIK_VERSION } from '../../version.ts';

// ---------------------------------------------------------------------------------------
// Entries

/**
 * An attribute with its lookup key precomputed (filters look attributes up by it): the
 * lower-case primary name of its type, so authentik's container attribute `commonName` is
 * found as `cn`, and a custom `rfc822Mailbox` replaces the built-in `mail`.
 */
export class Attr implements Attribute {
  readonly type: string;
  readonly lower: string;
  readonly values: readonly string[];
  readonly operational: boolean;
  constructor(type: string, values: readonly string[], operational = false) {
    this.type = type;
    this.lower = attributeKey(type);
    this.values = values;
    this.operational = operational;
  }
}

/**
 * What every directory entry shares: a cached directory keeps its encoding
 * (protocol/encoded-entries.ts), made on first use, at a slot of the snapshot's store.
 */
abstract class KeptEntry implements LdapEntry {
  abstract readonly dn: string;
  abstract readonly attributes: readonly Attribute[];
  private store: EncodedEntries | undefined = undefined;
  private slot = 0;

  abstract get(lower: string): readonly string[] | undefined;
  abstract keys(): Iterable<string>;

  /** Keep this entry's encoding at `slot` of `store` (a cached directory's). */
  keptIn(store: EncodedEntries, slot: number): this {
    this.store = store;
    this.slot = slot;
    return this;
  }

  /** `LdapEntry.writeEncoded`: false without a store, or when the store refuses the entry. */
  writeEncoded(w: BerWriter, messageId: number, selected: (a: StoredAttribute) => boolean): boolean {
    const store = this.store;
    if (store === undefined || (!store.has(this.slot) && !store.store(this.slot, this.dn, this.attributes))) return false;
    store.write(w, messageId, this.slot, selected);
    return true;
  }
}

/**
 * An immutable directory entry. Attribute lookup is a linear scan over a handful of
 * attributes with precomputed lower-case names: no per-entry Map, so a cached directory of
 * 100,000 users stays small.
 */
export class DirEntry extends KeptEntry {
  readonly dn: string;
  readonly attributes: readonly Attr[];
  constructor(dn: string, attributes: readonly Attr[]) {
    super();
    this.dn = dn;
    this.attributes = attributes;
  }
  get(lower: string): readonly string[] | undefined {
    const attrs = this.attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      if (a.lower === lower) return a.values;
    }
    return undefined;
  }
  keys(): Iterable<string> {
    return this.attributes.map((a) => a.lower);
  }
}


// ---------------------------------------------------------------------------------------
// Layout

export interface LayoutInput {
  readonly base_dn: string;
  readonly uid_start_number: number;
  readonly gid_start_number: number;
}

/** A provider's DNs and number bases. All DN strings are canonical (see the file header). */
export interface DirectoryLayout {
  /** The base entry's DN: the configured base DN, canonical formatting, configured case. */
  readonly baseEntryDn: string;
  /** `<b>`: the base DN lower-cased, canonical; every DN below the base ends with it. */
  readonly base: string;
  readonly baseParsed: Dn;
  readonly usersDn: string;
  readonly groupsDn: string;
  readonly virtualGroupsDn: string;
  readonly uidStartNumber: number;
  readonly gidStartNumber: number;
}

/** Canonical string form of a parsed DN with types and values lower-cased. */
function lowerDn(dn: Dn): Dn {
  return dn.map((rdn) => rdn.map((a) => (a.raw !== undefined ? { ...a, type: a.type.toLowerCase() } : { type: a.type.toLowerCase(), value: a.value.toLowerCase() })));
}

/** Throws `DnError` when the base DN does not parse. */
export function makeLayout(p: LayoutInput): DirectoryLayout {
  const parsed = parseDn(p.base_dn);
  const base = formatDn(lowerDn(parsed));
  const under = (ou: string) => (base === '' ? `ou=${ou}` : `ou=${ou},${base}`);
  return {
    baseEntryDn: formatDn(parsed),
    base,
    baseParsed: parseDn(base),
    usersDn: under('users'),
    groupsDn: under('groups'),
    virtualGroupsDn: under('virtual-groups'),
    uidStartNumber: p.uid_start_number,
    gidStartNumber: p.gid_start_number,
  };
}

export function userDn(layout: DirectoryLayout, username: string): string {
  return `cn=${escapeDnValue(username)},${layout.usersDn}`;
}
export function groupDn(layout: DirectoryLayout, name: string): string {
  return `cn=${escapeDnValue(name)},${layout.groupsDn}`;
}
export function virtualGroupDn(layout: DirectoryLayout, username: string): string {
  return `cn=${escapeDnValue(username)},${layout.virtualGroupsDn}`;
}

/**
 * The canonical form of a DN-valued assertion, as our entries spell DN values: types
 * lower-cased (OIDs and long names mapped to short names), values escaped canonically.
 * Values keep their case: DN values are compared case-insensitively by the filter anyway.
 * Returns undefined when the string is not a DN.
 */
export function canonicalDnValue(value: string): string | undefined {
  try {
    return formatDn(parseDn(value).map((rdn) => rdn.map((a) => (a.raw !== undefined ? { ...a, type: normalizeAttributeType(a.type) } : { type: normalizeAttributeType(a.type), value: a.value }))));
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Numbers

/** authentik's uidNumber: the user attribute `uidNumber` when set (see `idNumberAttribute`), else uid_start_number + pk. */
export function uidNumberOf(layout: DirectoryLayout, user: { readonly pk: number; readonly uidNumberAttr: string | undefined }): string {
  return user.uidNumberAttr ?? String(layout.uidStartNumber + user.pk);
}

/**
 * authentik's gidNumber of a user, on the user entry and on its virtual group: the user
 * attribute `gidNumber` when set (see `idNumberAttribute`), else the user's uidNumber.
 */
export function userGidNumberOf(
  layout: DirectoryLayout,
  user: { readonly pk: number; readonly uidNumberAttr: string | undefined; readonly gidNumberAttr: string | undefined },
): string {
  return user.gidNumberAttr ?? uidNumberOf(layout, user);
}

/**
 * authentik's gidNumber of a group: the attribute `gidNumber` when set (see `idNumberAttribute`), else
 * gid_start_number + num_pk, where num_pk is the integer formed by the first five decimal
 * digits of the group UUID read as a 128-bit integer (collisions are possible; kept so that
 * directories keep their numbers).
 */
export function gidNumberOf(layout: DirectoryLayout, group: { readonly numPk: number; readonly gidNumberAttr: string | undefined }): string {
  return group.gidNumberAttr ?? String(layout.gidStartNumber + group.numPk);
}

/** num_pk from a group UUID, as the core computes it (used when the API omits num_pk). */
export function numPkOfUuid(uuid: string): number {
  return Number(BigInt(`0x${uuid.replace(/-/g, '')}`).toString().slice(0, 5));
}

// ---------------------------------------------------------------------------------------
// Custom attribute rendering (ldap.md §4.7)

/** authentik's key sanitising: every `/` becomes `-`, every `.` is removed. */
export function sanitizeAttributeKey(key: string): string {
  return key.replace(/\//g, '-').replace(/\./g, '');
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64): shortest digits, never an exponent. */
export function formatPlainNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n) === 'Infinity' ? '+Inf' : String(n) === '-Infinity' ? '-Inf' : 'NaN';
  if (Object.is(n, -0)) return '-0';
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const { digits, exp, neg } = shortestDigits(n);
  let out: string;
  if (exp >= digits.length - 1) out = digits + '0'.repeat(exp - digits.length + 1);
  else if (exp >= 0) out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  else out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  return neg ? `-${out}` : out;
}

/** Go's %v of a float64 (strconv 'g', shortest): exponent form when exp < -4 or exp >= 6 (`1e+06`). */
function formatGoFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const { digits, exp, neg } = shortestDigits(n);
  let out: string;
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    out = `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
  } else {
    out = formatPlainNumber(Math.abs(n));
  }
  return neg ? `-${out}` : out;
}

function shortestDigits(n: number): { digits: string; exp: number; neg: boolean } {
  const [mant = '0', e = '0'] = Math.abs(n).toExponential().split('e');
  return { digits: mant.replace('.', ''), exp: Number(e), neg: n < 0 };
}

/** Go's `fmt.Sprintf("%s", v)` of a JSON value nested inside a list or map. */
function goPercentS(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '%!s(<nil>)';
  if (typeof v === 'boolean') return `%!s(bool=${v})`;
  if (typeof v === 'number') return `%!s(float64=${formatGoFloat(v)})`;
  if (Array.isArray(v)) return `[${v.map(goPercentS).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goPercentS((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

/** One top-level value or list element as authentik's outpost stringifies it. */
function renderScalar(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return formatPlainNumber(v);
  return goPercentS(v);
}

/** The LDAP values of one custom attribute value (null → no values; list → one per element, nulls dropped). */
export function renderAttributeValues(v: unknown): string[] {
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const el of v) {
      const s = renderScalar(el);
      if (s !== undefined) out.push(s);
    }
    return out;
  }
  const s = renderScalar(v);
  return s === undefined ? [] : [s];
}

/**
 * Go's `fmt.Sprintf(format, username)` as authentik applies it to user attribute values that
 * contain `%s`: `%%` is a percent sign, the first verb takes the username (`%s`/`%v`/`%q` as
 * Go renders a string, other verbs give Go's `%!d(string=alice)` marker), later verbs get
 * `%!s(MISSING)`. Flags, width and precision are accepted and ignored.
 */
export function goSprintfUsername(format: string, username: string): string {
  let out = '';
  let argUsed = false;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    let j = i + 1;
    while (j < format.length && /[-+# 0]/.test(format[j]!)) j++;
    while (j < format.length && /[0-9.]/.test(format[j]!)) j++;
    if (j >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = format[j]!;
    i = j;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argUsed) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    argUsed = true;
    if (verb === 's' || verb === 'v') out += username;
    else if (verb === 'q') out += JSON.stringify(username);
    else out += `%!${verb}(string=${username})`;
  }
  if (!argUsed) out += `%!(EXTRA string=${username})`;
  return out;
}

const PROTECTED_USER = new Set(['objectclass', 'cn', 'memberof', 'entrydn', 'subschemasubentry']);
const PROTECTED_GROUP = new Set(['objectclass', 'cn', 'member', 'memberof', 'entrydn', 'subschemasubentry']);

export type InternFn = (s: string) => string;
const identity: InternFn = (s) => s;

const EMPTY_ATTRS: readonly Attr[] = Object.freeze([]);

/**
 * authentik's custom attributes of a user or group as LDAP attributes: keys sanitised, values
 * rendered, `%s` replaced by the username (users only), protected attributes dropped, keys
 * that sanitise to the same name merged. `intern` shares repeated strings across entries.
 */
export function renderCustomAttributes(attributes: Readonly<Record<string, unknown>> | null | undefined, kind: 'user' | 'group', username: string | undefined, intern: InternFn = identity): readonly Attr[] {
  if (!attributes) return EMPTY_ATTRS;
  const keys = Object.keys(attributes);
  if (keys.length === 0) return EMPTY_ATTRS;
  const protectedSet = kind === 'user' ? PROTECTED_USER : PROTECTED_GROUP;
  const out: Attr[] = [];
  for (const key of keys) {
    const name = sanitizeAttributeKey(key);
    // An empty attribute type cannot be sent on the wire; authentik would emit a malformed entry.
    if (name === '') continue;
    const lower = attributeKey(name);
    if (protectedSet.has(lower)) continue;
    let values = renderAttributeValues(attributes[key]);
    if (username !== undefined) values = values.map((v) => (v.includes('%s') ? goSprintfUsername(v, username) : v));
    values = values.map(intern);
    const prev = out.findIndex((a) => a.lower === lower);
    if (prev >= 0) out[prev] = new Attr(out[prev]!.type, [...out[prev]!.values, ...values]);
    else out.push(new Attr(intern(name), values));
  }
  return out.length === 0 ? EMPTY_ATTRS : out;
}

/**
 * authentik's uidNumber/gidNumber override (`getAttributeString`, internal/outpost/ldap/utils.go):
 * the attribute `key` when it is a JSON string, as is, or a JSON number, as
 * `strconv.FormatFloat(v, 'f', -1, 64)` formats it (5000 → `5000`, 5000.5 → `5000.5`, 1e21 →
 * `1000000000000000000000`; authentik checks neither integrality nor range). Anything else
 * (null, boolean, list, object) is no override.
 */
export function idNumberAttribute(attributes: Readonly<Record<string, unknown>> | null | undefined, key: string): string | undefined {
  const v = attributes?.[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatPlainNumber(v);
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Object classes and constants

export const USER_OBJECT_CLASSES: readonly string[] = Object.freeze(['user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount']);
/** A group with at least one member: groupOfUniqueNames and groupOfNames require `member` (RFC 4519), so authentik (2025.8+) adds them only then. */
export const GROUP_OBJECT_CLASSES: readonly string[] = Object.freeze(['group', 'groupOfUniqueNames', 'groupOfNames', 'goauthentik.io/ldap/group', 'posixGroup']);
/** A group without members. */
export const EMPTY_GROUP_OBJECT_CLASSES: readonly string[] = Object.freeze(['group', 'goauthentik.io/ldap/group', 'posixGroup']);
/** A user's virtual group (its member is the user, so never empty). */
export const VIRTUAL_GROUP_OBJECT_CLASSES: readonly string[] = Object.freeze([...GROUP_OBJECT_CLASSES, 'goauthentik.io/ldap/virtual-group']);
export const CONTAINER_OBJECT_CLASSES: readonly string[] = Object.freeze(['top', 'nsContainer']);
export const BASE_OBJECT_CLASSES: readonly string[] = Object.freeze(['top']);

export const VENDOR_NAME = 'goauthentik.io';
export const VENDOR_VERSION = `authentik LDAP Outpost Version ${AUTHENTIK_VERSION}`;

const A_USER_OC = new Attr('objectClass', USER_OBJECT_CLASSES);
const A_GROUP_OC = new Attr('objectClass', GROUP_OBJECT_CLASSES);
const A_EMPTY_GROUP_OC = new Attr('objectClass', EMPTY_GROUP_OBJECT_CLASSES);
const A_VGROUP_OC = new Attr('objectClass', VIRTUAL_GROUP_OBJECT_CLASSES);
const A_CONTAINER_OC = new Attr('objectClass', CONTAINER_OBJECT_CLASSES);
const A_SUBSCHEMA_OP = new Attr('subschemaSubentry', [SUBSCHEMA_DN], true);
const TRUE = Object.freeze(['true']);
const FALSE = Object.freeze(['false']);
const A_ACTIVE_TRUE = new Attr('ak-active', TRUE);
const A_ACTIVE_FALSE = new Attr('ak-active', FALSE);
const A_SUPER_TRUE = new Attr('ak-superuser', TRUE);
const A_SUPER_FALSE = new Attr('ak-superuser', FALSE);

// ---------------------------------------------------------------------------------------
// Builders

/** What a user entry is built from (compact record; see model.ts). */
export interface UserFacts {
  readonly pk: number;
  readonly username: string;
  readonly name: string;
  readonly email: string;
  readonly active: boolean;
  readonly superuser: boolean;
  readonly uid: string;
  readonly uidNumberAttr: string | undefined;
  readonly gidNumberAttr: string | undefined;
  readonly custom: readonly Attr[];
}

export interface GroupFacts {
  readonly pk: string;
  readonly numPk: number;
  readonly name: string;
  readonly superuser: boolean;
  readonly gidNumberAttr: string | undefined;
  readonly custom: readonly Attr[];
}

function withCustom(builtins: Attr[], custom: readonly Attr[]): readonly Attr[] {
  if (custom.length === 0) return builtins;
  const out: Attr[] = [];
  for (const b of builtins) if (!custom.some((c) => c.lower === b.lower)) out.push(b);
  for (const c of custom) out.push(c);
  return out;
}

function findCustom(custom: readonly Attr[], lower: string): Attr | undefined {
  for (let i = 0; i < custom.length; i++) if (custom[i]!.lower === lower) return custom[i];
  return undefined;
}

const SUBSCHEMA_VALUES = Object.freeze([SUBSCHEMA_DN]);

/**
 * A user: cn, sAMAccountName, uid, name, displayName, sn, mail, objectClass, memberOf,
 * uidNumber, gidNumber (the user's virtual group's: `userGidNumberOf`), homeDirectory, ak-active,
 * ak-superuser, then custom attributes (which override the built-ins they name).
 *
 * Computed from the compact record on demand and not kept: a directory of 100,000 users
 * would otherwise hold ~1.5 KB of attribute objects per user, and a full search would pin
 * them all until its last entry is sent. `get` (what filters use) computes one attribute;
 * `attributes` (what the wire server sends) builds the list on EACH access — read it once per
 * entry, encode, and let it go.
 */
export class UserEntry extends KeptEntry {
  readonly dn: string;
  private readonly layout: DirectoryLayout;
  private readonly u: UserFacts;
  private readonly memberOf: MemberOfSource;

  constructor(layout: DirectoryLayout, u: UserFacts, dn: string, memberOf: MemberOfSource) {
    super();
    this.layout = layout;
    this.u = u;
    this.dn = dn;
    this.memberOf = memberOf;
  }

  get(lower: string): readonly string[] | undefined {
    const u = this.u;
    if (u.custom.length > 0) {
      const c = findCustom(u.custom, lower);
      if (c !== undefined) return c.values;
    }
    switch (lower) {
      case 'cn':
      case 'samaccountname':
        return [u.username];
      case 'uid':
        return [u.uid];
      case 'name':
      case 'displayname':
      case 'sn':
        return [u.name];
      case 'mail':
        return [u.email];
      case 'objectclass':
        return USER_OBJECT_CLASSES;
      case 'memberof':
        return this.memberOf.memberOfDns(this.u);
      case 'uidnumber':
        return [uidNumberOf(this.layout, u)];
      case 'gidnumber':
        return [userGidNumberOf(this.layout, u)];
      case 'homedirectory':
        return [`/home/${u.username}`];
      case 'ak-active':
        return u.active ? TRUE : FALSE;
      case 'ak-superuser':
        return u.superuser ? TRUE : FALSE;
      case 'entrydn':
        return [this.dn];
      case 'subschemasubentry':
        return SUBSCHEMA_VALUES;
      default:
        return undefined;
    }
  }

  get attributes(): readonly Attr[] {
    const u = this.u;
    const cn = [u.username];
    const name = [u.name];
    const builtins = [
      new Attr('cn', cn),
      new Attr('sAMAccountName', cn),
      new Attr('uid', [u.uid]),
      new Attr('name', name),
      new Attr('displayName', name),
      new Attr('sn', name),
      new Attr('mail', [u.email]),
      A_USER_OC,
      new Attr('memberOf', this.memberOf.memberOfDns(this.u)),
      new Attr('uidNumber', [uidNumberOf(this.layout, u)]),
      new Attr('gidNumber', [userGidNumberOf(this.layout, u)]),
      new Attr('homeDirectory', [`/home/${u.username}`]),
      u.active ? A_ACTIVE_TRUE : A_ACTIVE_FALSE,
      u.superuser ? A_SUPER_TRUE : A_SUPER_FALSE,
      new Attr('entryDN', [this.dn], true),
      A_SUBSCHEMA_OP,
    ];
    return withCustom(builtins, u.custom);
  }

  keys(): Iterable<string> {
    return this.attributes.map((a) => a.lower);
  }
}

/**
 * Where a user entry's memberOf DNs come from: the view it belongs to (one object for all its
 * entries, not a closure per entry: a large search builds an entry per user).
 */
export interface MemberOfSource {
  memberOfDns(u: UserFacts): readonly string[];
}

export function buildUserEntry(layout: DirectoryLayout, u: UserFacts, dn: string, memberOf: readonly string[] | (() => readonly string[]) | MemberOfSource): UserEntry {
  const source: MemberOfSource = typeof memberOf === 'function' ? { memberOfDns: memberOf } : isMemberOfSource(memberOf) ? memberOf : { memberOfDns: () => memberOf };
  return new UserEntry(layout, u, dn, source);
}

function isMemberOfSource(m: readonly string[] | MemberOfSource): m is MemberOfSource {
  return !Array.isArray(m);
}

/**
 * A group: cn, sAMAccountName, uid (the UUID), gidNumber, member (users, then child groups),
 * memberOf (direct parent groups), objectClass (groupOfNames and groupOfUniqueNames only with
 * members), ak-superuser, custom.
 */
export function buildGroupEntry(layout: DirectoryLayout, g: GroupFacts, dn: string, members: readonly string[], memberOf: readonly string[] = []): DirEntry {
  const cn = [g.name];
  const builtins = [
    new Attr('cn', cn),
    new Attr('sAMAccountName', cn),
    new Attr('uid', [g.pk]),
    new Attr('gidNumber', [gidNumberOf(layout, g)]),
    new Attr('member', members),
    ...(memberOf.length > 0 ? [new Attr('memberOf', memberOf)] : []),
    members.length > 0 ? A_GROUP_OC : A_EMPTY_GROUP_OC,
    g.superuser ? A_SUPER_TRUE : A_SUPER_FALSE,
    new Attr('entryDN', [dn], true),
    A_SUBSCHEMA_OP,
  ];
  return new DirEntry(dn, withCustom(builtins, g.custom));
}

/** A user's virtual (primary) group: gidNumber = the user's gidNumber (`userGidNumberOf`), member = the user. No custom attributes. Computed on demand, like UserEntry (`attributes` is built on each access). */
export class VirtualGroupEntry extends KeptEntry {
  readonly dn: string;
  private readonly layout: DirectoryLayout;
  private readonly u: UserFacts;
  private readonly memberDn: string;

  constructor(layout: DirectoryLayout, u: UserFacts, dn: string, memberDn: string) {
    super();
    this.layout = layout;
    this.u = u;
    this.dn = dn;
    this.memberDn = memberDn;
  }

  get(lower: string): readonly string[] | undefined {
    switch (lower) {
      case 'cn':
      case 'samaccountname':
        return [this.u.username];
      case 'uid':
        return [this.u.uid];
      case 'gidnumber':
        return [userGidNumberOf(this.layout, this.u)];
      case 'member':
        return [this.memberDn];
      case 'objectclass':
        return VIRTUAL_GROUP_OBJECT_CLASSES;
      case 'ak-superuser':
        return FALSE;
      case 'entrydn':
        return [this.dn];
      case 'subschemasubentry':
        return SUBSCHEMA_VALUES;
      default:
        return undefined;
    }
  }

  get attributes(): readonly Attr[] {
    const cn = [this.u.username];
    return [
      new Attr('cn', cn),
      new Attr('sAMAccountName', cn),
      new Attr('uid', [this.u.uid]),
      new Attr('gidNumber', [userGidNumberOf(this.layout, this.u)]),
      new Attr('member', [this.memberDn]),
      A_VGROUP_OC,
      A_SUPER_FALSE,
      new Attr('entryDN', [this.dn], true),
      A_SUBSCHEMA_OP,
    ];
  }

  keys(): Iterable<string> {
    return this.attributes.map((a) => a.lower);
  }
}

export function buildVirtualGroupEntry(layout: DirectoryLayout, u: UserFacts, dn: string, memberDn: string): VirtualGroupEntry {
  return new VirtualGroupEntry(layout, u, dn, memberDn);
}

export type ContainerName = 'users' | 'groups' | 'virtual-groups';

/** `ou=<name>,<b>`: authentik's distinguishedName/objectClass/commonName plus `ou` (the RDN). */
export function buildContainerEntry(layout: DirectoryLayout, which: ContainerName): DirEntry {
  const dn = which === 'users' ? layout.usersDn : which === 'groups' ? layout.groupsDn : layout.virtualGroupsDn;
  return new DirEntry(dn, [
    new Attr('ou', [which]),
    new Attr('distinguishedName', [dn]),
    A_CONTAINER_OC,
    new Attr('commonName', [which]),
    new Attr('entryDN', [dn], true),
    A_SUBSCHEMA_OP,
  ]);
}

/**
 * The provider's base entry: authentik's root-DSE-like attribute set under the configured
 * base DN (objectClass `top` only, so `(objectClass=top)` finds it and `(objectClass=domain)`
 * does not, as in authentik), plus its RDN attribute(s).
 */
export function buildBaseEntry(layout: DirectoryLayout): DirEntry {
  const rdnAttrs: Attr[] = [];
  for (const ava of layout.baseParsed[0] ?? []) {
    const original = parseDn(layout.baseEntryDn)[0]?.find((a) => a.type.toLowerCase() === ava.type);
    rdnAttrs.push(new Attr(original?.type ?? ava.type, [original?.value ?? ava.value]));
  }
  return new DirEntry(layout.baseEntryDn, [
    new Attr('objectClass', BASE_OBJECT_CLASSES),
    ...rdnAttrs,
    new Attr('supportedLDAPVersion', ['3']),
    new Attr('namingContexts', [layout.base]),
    new Attr('rootDomainNamingContext', [layout.base]),
    new Attr('vendorName', [VENDOR_NAME]),
    new Attr('vendorVersion', [VENDOR_VERSION]),
    new Attr('entryDN', [layout.baseEntryDn], true),
    A_SUBSCHEMA_OP,
  ]);
}

/**
 * The root DSE, readable without binding. namingContexts lists every provider's base (`<b>`
 * form); rootDomainNamingContext is the first one (the caller lists the most relevant
 * provider first). Unlike RFC 4512, which makes these attributes operational, they are
 * user attributes here, as in authentik: `ldapsearch -b '' -s base` without `+` must show
 * namingContexts, because clients (Nextcloud, Apache Directory Studio, sssd's auto-detection)
 * read it with a plain search. Only entryDN is operational. New against authentik (§9 item
 * 17): supportedControl (paged results) and supportedExtension (StartTLS, WhoAmI).
 */
export function buildRootDse(bases: readonly string[]): DirEntry {
  const attrs = [
    new Attr('objectClass', ['top']),
    new Attr('namingContexts', bases),
    new Attr('supportedLDAPVersion', ['3']),
    new Attr('supportedControl', [ControlOid.pagedResults]),
    new Attr('supportedExtension', [ExtendedOid.startTls, ExtendedOid.whoAmI]),
    new Attr('subschemaSubentry', [SUBSCHEMA_DN]),
    new Attr('vendorName', [VENDOR_NAME]),
    new Attr('vendorVersion', [VENDOR_VERSION]),
    new Attr('entryDN', [''], true),
  ];
  if (bases.length > 0) attrs.splice(2, 0, new Attr('rootDomainNamingContext', [bases[0]!]));
  return new DirEntry('', attrs);
}

let subschema: DirEntry | undefined;
/** `cn=subschema` (readable without binding). */
export function buildSubschemaEntry(): DirEntry {
  subschema ??= new DirEntry(SUBSCHEMA_DN, [...subschemaAttributes().map((a) => new Attr(a.type, a.values.map((v) => (typeof v === "string" ? v : v.toString("utf8"))))), new Attr('entryDN', [SUBSCHEMA_DN], true)]);
  return subschema;
}
