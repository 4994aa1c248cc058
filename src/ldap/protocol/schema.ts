/**
 * Content of the `cn=subschema` entry: well-formed RFC 4512 definitions for every
 * attribute type and object class the outpost's entries use (ldap.md §4.3–§4.7).
 *
 * authentik's own schema entry is malformed (ldap.md §9 item 17): quoted SYNTAX OIDs,
 * NO-USER-MODIFICATION on user attributes, a keyword inside a quoted string, and
 * unquoted non-`descr` names such as `goauthentik.io/ldap/active` inside MAY lists,
 * which break strict parsers. This module builds every definition from data and
 * renders it with one formatter, so the output is uniform.
 *
 * Names like `goauthentik.io/ldap/user`: authentik emits them as quoted NAMEs, e.g.
 * `( 1.3.6.1.4.1.26027.1.1.3 NAME ( 'goauthentik.io/ldap/active' 'ak-active' ) ...`.
 * They are not RFC 4512 `descr`s ('.' and '/' are not keychars). We keep them — entries
 * really carry `objectClass: goauthentik.io/ldap/user`, and clients that look an
 * object class up by name need to find it — but only inside NAME, where they are quoted:
 * OpenLDAP's libldap (used by ldapsearch and python-ldap), ldap3 and Apache Directory
 * Studio tokenise a quoted NAME as an opaque string and accept it. Every *reference* (SUP,
 * MUST, MAY, EQUALITY, ...) uses a numeric OID or a valid descr (`ak-active`), never
 * such a name, so the unquoted `oid` grammar is never violated. The numeric OID stays
 * the key of each definition. Where authentik gives an attribute both names we keep its
 * order (authentik's name first) so the value reads as authentik's does.
 *
 * OIDs: authentik's custom definitions live under 1.3.6.1.4.1.26027.1.1 ("temporarily",
 * per authentik's source); we reuse its numbers (1.1.1 user class, 1.1.2 ak-superuser,
 * 1.1.3 ak-active, 1.1.4 goauthentikio-user-override-ips, 1.1.5
 * goauthentikio-user-service-account). authentik defines no OIDs for the group and
 * virtual-group classes; they are given 1.3.6.1.4.1.26027.1.2.1 and .1.2.2, a sibling
 * arc chosen so that they cannot collide with attribute numbers authentik adds under .1.1.
 *
 * What clients see follows authentik's definitions: its SINGLE-VALUE declarations (ldap3
 * returns a single-valued attribute as a value, a multi-valued one as a list, so an application
 * written against authentik reads `entry['mail']` as a string) and its Boolean syntax for
 * ak-active / ak-superuser (ldap3 turns `true`/`false` into Python booleans; RFC 4517 §3.3.3
 * spells them TRUE/FALSE, but no client we know rejects the lower case, and authentik sends it).
 * createTimestamp / modifyTimestamp are declared, though no entry carries them: ldap3 re-reads
 * the schema after StartTLS asking for both by name, and with the schema of its first read
 * loaded it refuses names the schema does not declare ("invalid attribute type").
 *
 * Deliberate deviations from authentik's definitions, each to make the schema coherent:
 * - displayName and homeDirectory use their LDAP-standard OIDs (RFC 2798 / RFC 2307)
 *   instead of the Active Directory ones, so inetOrgPerson/posixAccount reference them.
 * - memberOf is a plain user attribute (no NO-USER-MODIFICATION, which RFC 4512 only
 *   allows on operational attributes).
 * - Standard attributes carry their standard alternative names (`commonName`, `userid`,
 *   `rfc822Mailbox`, ...). Filters and attribute lists treat every name and the OID of a type
 *   as that type (`attributeKey`), as RFC 4512 §2.5 asks.
 */

import type { EntryAttribute } from './messages.ts';

export const SUBSCHEMA_DN = 'cn=subschema';

export interface AttributeTypeDef {
  readonly oid: string;
  readonly names: readonly string[];
  readonly desc?: string;
  readonly sup?: string;
  readonly equality?: string;
  readonly ordering?: string;
  readonly substr?: string;
  readonly syntax?: string;
  readonly singleValue?: boolean;
  readonly noUserModification?: boolean;
  readonly usage?: 'userApplications' | 'directoryOperation' | 'distributedOperation' | 'dSAOperation';
}

export interface ObjectClassDef {
  readonly oid: string;
  readonly names: readonly string[];
  readonly desc?: string;
  readonly sup?: readonly string[];
  readonly kind: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  readonly must?: readonly string[];
  readonly may?: readonly string[];
}

export interface SyntaxDef {
  readonly oid: string;
  readonly desc: string;
}

export interface MatchingRuleDef {
  readonly oid: string;
  readonly names: readonly string[];
  readonly syntax: string;
}

/** Syntax OIDs (RFC 4517). */
const S = {
  attributeTypeDescription: '1.3.6.1.4.1.1466.115.121.1.3',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
  countryString: '1.3.6.1.4.1.1466.115.121.1.11',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  directoryString: '1.3.6.1.4.1.1466.115.121.1.15',
  generalizedTime: '1.3.6.1.4.1.1466.115.121.1.24',
  ia5String: '1.3.6.1.4.1.1466.115.121.1.26',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  matchingRuleDescription: '1.3.6.1.4.1.1466.115.121.1.30',
  nameAndOptionalUid: '1.3.6.1.4.1.1466.115.121.1.34',
  objectClassDescription: '1.3.6.1.4.1.1466.115.121.1.37',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  octetString: '1.3.6.1.4.1.1466.115.121.1.40',
  telephoneNumber: '1.3.6.1.4.1.1466.115.121.1.50',
  ldapSyntaxDescription: '1.3.6.1.4.1.1466.115.121.1.54',
  substringAssertion: '1.3.6.1.4.1.1466.115.121.1.58',
} as const;

export const LDAP_SYNTAXES: readonly SyntaxDef[] = [
  { oid: S.attributeTypeDescription, desc: 'Attribute Type Description' },
  { oid: S.boolean, desc: 'Boolean' },
  { oid: S.countryString, desc: 'Country String' },
  { oid: S.dn, desc: 'DN' },
  { oid: S.directoryString, desc: 'Directory String' },
  { oid: S.generalizedTime, desc: 'Generalized Time' },
  { oid: S.ia5String, desc: 'IA5 String' },
  { oid: S.integer, desc: 'INTEGER' },
  { oid: S.matchingRuleDescription, desc: 'Matching Rule Description' },
  { oid: S.nameAndOptionalUid, desc: 'Name And Optional UID' },
  { oid: S.objectClassDescription, desc: 'Object Class Description' },
  { oid: S.oid, desc: 'OID' },
  { oid: S.octetString, desc: 'Octet String' },
  { oid: S.telephoneNumber, desc: 'Telephone Number' },
  { oid: S.ldapSyntaxDescription, desc: 'LDAP Syntax Description' },
  { oid: S.substringAssertion, desc: 'Substring Assertion' },
];

export const MATCHING_RULES: readonly MatchingRuleDef[] = [
  { oid: '2.5.13.0', names: ['objectIdentifierMatch'], syntax: S.oid },
  { oid: '2.5.13.1', names: ['distinguishedNameMatch'], syntax: S.dn },
  { oid: '2.5.13.2', names: ['caseIgnoreMatch'], syntax: S.directoryString },
  { oid: '2.5.13.4', names: ['caseIgnoreSubstringsMatch'], syntax: S.substringAssertion },
  { oid: '2.5.13.5', names: ['caseExactMatch'], syntax: S.directoryString },
  { oid: '2.5.13.13', names: ['booleanMatch'], syntax: S.boolean },
  { oid: '2.5.13.14', names: ['integerMatch'], syntax: S.integer },
  { oid: '2.5.13.15', names: ['integerOrderingMatch'], syntax: S.integer },
  { oid: '2.5.13.20', names: ['telephoneNumberMatch'], syntax: S.telephoneNumber },
  { oid: '2.5.13.21', names: ['telephoneNumberSubstringsMatch'], syntax: S.substringAssertion },
  { oid: '2.5.13.23', names: ['uniqueMemberMatch'], syntax: S.nameAndOptionalUid },
  { oid: '2.5.13.27', names: ['generalizedTimeMatch'], syntax: S.generalizedTime },
  { oid: '2.5.13.28', names: ['generalizedTimeOrderingMatch'], syntax: S.generalizedTime },
  { oid: '2.5.13.30', names: ['objectIdentifierFirstComponentMatch'], syntax: S.oid },
  { oid: '1.3.6.1.4.1.1466.109.114.1', names: ['caseExactIA5Match'], syntax: S.ia5String },
  { oid: '1.3.6.1.4.1.1466.109.114.2', names: ['caseIgnoreIA5Match'], syntax: S.ia5String },
  { oid: '1.3.6.1.4.1.1466.109.114.3', names: ['caseIgnoreIA5SubstringsMatch'], syntax: S.substringAssertion },
];

/** A Directory String attribute with caseIgnore equality and substrings. */
function ds(oid: string, names: readonly string[], singleValue = false): AttributeTypeDef {
  return { oid, names, equality: 'caseIgnoreMatch', substr: 'caseIgnoreSubstringsMatch', syntax: S.directoryString, singleValue };
}
function dnAttr(oid: string, names: readonly string[], extra: Partial<AttributeTypeDef> = {}): AttributeTypeDef {
  return { oid, names, equality: 'distinguishedNameMatch', syntax: S.dn, ...extra };
}
function intAttr(oid: string, names: readonly string[]): AttributeTypeDef {
  return { oid, names, equality: 'integerMatch', ordering: 'integerOrderingMatch', syntax: S.integer, singleValue: true };
}
function phone(oid: string, names: readonly string[]): AttributeTypeDef {
  return { oid, names, equality: 'telephoneNumberMatch', substr: 'telephoneNumberSubstringsMatch', syntax: S.telephoneNumber, singleValue: true };
}
function bool(oid: string, names: readonly string[]): AttributeTypeDef {
  return { oid, names, equality: 'booleanMatch', syntax: S.boolean, singleValue: true };
}
function timestamp(oid: string, names: readonly string[]): AttributeTypeDef {
  return { oid, names, equality: 'generalizedTimeMatch', ordering: 'generalizedTimeOrderingMatch', syntax: S.generalizedTime, singleValue: true, noUserModification: true, usage: 'directoryOperation' };
}

export const ATTRIBUTE_TYPES: readonly AttributeTypeDef[] = [
  // RFC 4512 / RFC 4519 / RFC 4524 user attributes. SINGLE-VALUE where authentik declares it
  // (cn, sn, c, l, title, telephoneNumber, givenName, uid, mail, mobile), not where it does
  // not (o, ou, description, member).
  { oid: '2.5.4.0', names: ['objectClass'], equality: 'objectIdentifierMatch', syntax: S.oid },
  ds('2.5.4.3', ['cn', 'commonName'], true),
  ds('2.5.4.4', ['sn', 'surname'], true),
  { oid: '2.5.4.6', names: ['c', 'countryName'], equality: 'caseIgnoreMatch', syntax: S.countryString, singleValue: true },
  ds('2.5.4.7', ['l', 'localityName'], true),
  ds('2.5.4.10', ['o', 'organizationName']),
  ds('2.5.4.11', ['ou', 'organizationalUnitName']),
  ds('2.5.4.12', ['title'], true),
  ds('2.5.4.13', ['description']),
  phone('2.5.4.20', ['telephoneNumber']),
  dnAttr('2.5.4.31', ['member']),
  ds('2.5.4.42', ['givenName', 'gn'], true),
  dnAttr('2.5.4.49', ['distinguishedName']),
  { oid: '2.5.4.50', names: ['uniqueMember'], equality: 'uniqueMemberMatch', syntax: S.nameAndOptionalUid },
  ds('0.9.2342.19200300.100.1.1', ['uid', 'userid'], true),
  {
    oid: '0.9.2342.19200300.100.1.3',
    names: ['mail', 'rfc822Mailbox'],
    equality: 'caseIgnoreIA5Match',
    substr: 'caseIgnoreIA5SubstringsMatch',
    syntax: `${S.ia5String}{256}`,
    singleValue: true,
  },
  { oid: '0.9.2342.19200300.100.1.25', names: ['dc', 'domainComponent'], equality: 'caseIgnoreIA5Match', substr: 'caseIgnoreIA5SubstringsMatch', syntax: S.ia5String, singleValue: true },
  phone('0.9.2342.19200300.100.1.41', ['mobile', 'mobileTelephoneNumber']),
  // RFC 2798 inetOrgPerson
  ds('2.16.840.1.113730.3.1.241', ['displayName'], true),
  // RFC 2307 NIS
  intAttr('1.3.6.1.1.1.1.0', ['uidNumber']),
  intAttr('1.3.6.1.1.1.1.1', ['gidNumber']),
  { oid: '1.3.6.1.1.1.1.3', names: ['homeDirectory'], equality: 'caseExactIA5Match', syntax: S.ia5String, singleValue: true },
  { oid: '1.3.6.1.1.1.1.4', names: ['loginShell'], equality: 'caseExactIA5Match', syntax: S.ia5String, singleValue: true },
  { oid: '1.3.6.1.1.1.1.12', names: ['memberUid'], equality: 'caseExactIA5Match', syntax: S.ia5String },
  // Active Directory attributes authentik emits
  ds('1.2.840.113556.1.4.1', ['name'], true),
  ds('1.2.840.113556.1.4.221', ['sAMAccountName'], true),
  dnAttr('1.2.840.113556.1.2.102', ['memberOf']),
  ds('1.2.840.113556.1.2.131', ['co'], true),
  ds('1.2.840.113556.1.2.141', ['department'], true),
  ds('1.2.840.113556.1.2.146', ['company'], true),
  ds('1.2.840.113556.1.4.261', ['division'], true),
  // authentik attributes (see the module comment for the naming choice). override-ips and
  // service-account are custom attributes (`goauthentik.io/user/...`, booleans in authentik).
  bool('1.3.6.1.4.1.26027.1.1.2', ['goauthentik.io/ldap/superuser', 'ak-superuser']),
  bool('1.3.6.1.4.1.26027.1.1.3', ['goauthentik.io/ldap/active', 'ak-active']),
  bool('1.3.6.1.4.1.26027.1.1.4', ['goauthentikio-user-override-ips']),
  bool('1.3.6.1.4.1.26027.1.1.5', ['goauthentikio-user-service-account']),
  // RFC 4512 §3.4 operational attributes (declared for clients that ask for them by name)
  timestamp('2.5.18.1', ['createTimestamp']),
  timestamp('2.5.18.2', ['modifyTimestamp']),
  // Operational attributes of the root DSE, entries and this subschema entry
  { oid: '1.3.6.1.4.1.1466.101.120.5', names: ['namingContexts'], syntax: S.dn, usage: 'dSAOperation' },
  { oid: '1.3.6.1.4.1.1466.101.120.7', names: ['supportedExtension'], syntax: S.oid, usage: 'dSAOperation' },
  { oid: '1.3.6.1.4.1.1466.101.120.13', names: ['supportedControl'], syntax: S.oid, usage: 'dSAOperation' },
  { oid: '1.3.6.1.4.1.1466.101.120.14', names: ['supportedSASLMechanisms'], syntax: S.directoryString, usage: 'dSAOperation' },
  { oid: '1.3.6.1.4.1.1466.101.120.15', names: ['supportedLDAPVersion'], syntax: S.integer, usage: 'dSAOperation' },
  {
    oid: '1.3.6.1.4.1.1466.101.120.16',
    names: ['ldapSyntaxes'],
    equality: 'objectIdentifierFirstComponentMatch',
    syntax: S.ldapSyntaxDescription,
    usage: 'directoryOperation',
  },
  { oid: '1.3.6.1.1.4', names: ['vendorName'], equality: 'caseExactIA5Match', syntax: S.ia5String, singleValue: true, noUserModification: true, usage: 'dSAOperation' },
  { oid: '1.3.6.1.1.5', names: ['vendorVersion'], equality: 'caseExactIA5Match', syntax: S.ia5String, singleValue: true, noUserModification: true, usage: 'dSAOperation' },
  dnAttr('1.3.6.1.1.20', ['entryDN'], { singleValue: true, noUserModification: true, usage: 'directoryOperation' }),
  dnAttr('2.5.18.10', ['subschemaSubentry'], { singleValue: true, noUserModification: true, usage: 'directoryOperation' }),
  {
    oid: '2.5.21.4',
    names: ['matchingRules'],
    equality: 'objectIdentifierFirstComponentMatch',
    syntax: S.matchingRuleDescription,
    usage: 'directoryOperation',
  },
  {
    oid: '2.5.21.5',
    names: ['attributeTypes'],
    equality: 'objectIdentifierFirstComponentMatch',
    syntax: S.attributeTypeDescription,
    usage: 'directoryOperation',
  },
  {
    oid: '2.5.21.6',
    names: ['objectClasses'],
    equality: 'objectIdentifierFirstComponentMatch',
    syntax: S.objectClassDescription,
    usage: 'directoryOperation',
  },
];

export const OBJECT_CLASSES: readonly ObjectClassDef[] = [
  { oid: '2.5.6.0', names: ['top'], kind: 'ABSTRACT', must: ['objectClass'] },
  {
    oid: '2.5.20.1',
    names: ['subschema'],
    kind: 'AUXILIARY',
    may: ['ldapSyntaxes', 'matchingRules', 'attributeTypes', 'objectClasses'],
  },
  { oid: '2.5.6.6', names: ['person'], sup: ['top'], kind: 'STRUCTURAL', must: ['sn', 'cn'], may: ['telephoneNumber', 'description'] },
  {
    oid: '2.5.6.7',
    names: ['organizationalPerson'],
    sup: ['person'],
    kind: 'STRUCTURAL',
    may: ['title', 'telephoneNumber', 'ou', 'l'],
  },
  {
    oid: '2.16.840.1.113730.3.2.2',
    names: ['inetOrgPerson'],
    sup: ['organizationalPerson'],
    kind: 'STRUCTURAL',
    may: ['displayName', 'givenName', 'mail', 'mobile', 'o', 'uid'],
  },
  {
    oid: '1.2.840.113556.1.5.9',
    names: ['user'],
    sup: ['organizationalPerson'],
    kind: 'STRUCTURAL',
    may: ['sAMAccountName', 'name', 'displayName', 'mail', 'memberOf', 'co', 'company', 'department', 'division', 'mobile', 'givenName', 'c', 'o'],
  },
  {
    oid: '1.3.6.1.1.1.2.0',
    names: ['posixAccount'],
    sup: ['top'],
    kind: 'AUXILIARY',
    must: ['cn', 'uid', 'uidNumber', 'gidNumber', 'homeDirectory'],
    may: ['loginShell', 'description'],
  },
  {
    oid: '1.3.6.1.4.1.26027.1.1.1',
    names: ['goauthentik.io/ldap/user'],
    sup: ['top'],
    kind: 'AUXILIARY',
    may: ['ak-active', 'ak-superuser', 'goauthentikio-user-override-ips', 'goauthentikio-user-service-account'],
  },
  { oid: '2.5.6.9', names: ['groupOfNames'], sup: ['top'], kind: 'STRUCTURAL', must: ['member', 'cn'], may: ['o', 'ou', 'description'] },
  {
    oid: '2.5.6.17',
    names: ['groupOfUniqueNames'],
    sup: ['top'],
    kind: 'STRUCTURAL',
    must: ['uniqueMember', 'cn'],
    may: ['o', 'ou', 'description'],
  },
  {
    oid: '1.2.840.113556.1.5.8',
    names: ['group'],
    sup: ['top'],
    kind: 'STRUCTURAL',
    may: ['cn', 'sAMAccountName', 'member', 'memberOf', 'description', 'mail'],
  },
  { oid: '1.3.6.1.1.1.2.2', names: ['posixGroup'], sup: ['top'], kind: 'STRUCTURAL', must: ['cn', 'gidNumber'], may: ['memberUid', 'description'] },
  { oid: '1.3.6.1.4.1.26027.1.2.1', names: ['goauthentik.io/ldap/group'], sup: ['top'], kind: 'AUXILIARY', may: ['ak-superuser', 'uid'] },
  {
    oid: '1.3.6.1.4.1.26027.1.2.2',
    names: ['goauthentik.io/ldap/virtual-group'],
    sup: ['top'],
    kind: 'AUXILIARY',
    may: ['ak-superuser', 'uid'],
  },
  { oid: '2.16.840.1.113730.3.2.1', names: ['nsContainer'], sup: ['top'], kind: 'STRUCTURAL', must: ['cn'], may: ['distinguishedName'] },
];

// ---------------------------------------------------------------------------------------
// Rendering

function q(s: string): string {
  // qdstring escapes (RFC 4512 §4.1): ' -> \27, \ -> \5C
  return `'${s.replace(/\\/g, '\\5C').replace(/'/g, '\\27')}'`;
}
function qdescrs(names: readonly string[]): string {
  return names.length === 1 ? q(names[0]!) : `( ${names.map(q).join(' ')} )`;
}
function oids(list: readonly string[]): string {
  return list.length === 1 ? list[0]! : `( ${list.join(' $ ')} )`;
}

export function formatAttributeType(d: AttributeTypeDef): string {
  const p = ['(', d.oid];
  if (d.names.length > 0) p.push('NAME', qdescrs(d.names));
  if (d.desc !== undefined) p.push('DESC', q(d.desc));
  if (d.sup !== undefined) p.push('SUP', d.sup);
  if (d.equality !== undefined) p.push('EQUALITY', d.equality);
  if (d.ordering !== undefined) p.push('ORDERING', d.ordering);
  if (d.substr !== undefined) p.push('SUBSTR', d.substr);
  if (d.syntax !== undefined) p.push('SYNTAX', d.syntax);
  if (d.singleValue === true) p.push('SINGLE-VALUE');
  if (d.noUserModification === true) p.push('NO-USER-MODIFICATION');
  if (d.usage !== undefined && d.usage !== 'userApplications') p.push('USAGE', d.usage);
  p.push(')');
  return p.join(' ');
}

export function formatObjectClass(d: ObjectClassDef): string {
  const p = ['(', d.oid];
  if (d.names.length > 0) p.push('NAME', qdescrs(d.names));
  if (d.desc !== undefined) p.push('DESC', q(d.desc));
  if (d.sup !== undefined && d.sup.length > 0) p.push('SUP', oids(d.sup));
  p.push(d.kind);
  if (d.must !== undefined && d.must.length > 0) p.push('MUST', oids(d.must));
  if (d.may !== undefined && d.may.length > 0) p.push('MAY', oids(d.may));
  p.push(')');
  return p.join(' ');
}

export function formatSyntax(d: SyntaxDef): string {
  return `( ${d.oid} DESC ${q(d.desc)} )`;
}

export function formatMatchingRule(d: MatchingRuleDef): string {
  return `( ${d.oid} NAME ${qdescrs(d.names)} SYNTAX ${d.syntax} )`;
}

/** Attribute values of the subschema entry, in a stable order. */
export function subschemaAttributes(): EntryAttribute[] {
  return [
    { type: 'cn', values: ['subschema'] },
    { type: 'objectClass', values: ['top', 'subSchema'] },
    { type: 'ldapSyntaxes', values: LDAP_SYNTAXES.map(formatSyntax) },
    { type: 'matchingRules', values: MATCHING_RULES.map(formatMatchingRule) },
    { type: 'attributeTypes', values: ATTRIBUTE_TYPES.map(formatAttributeType) },
    { type: 'objectClasses', values: OBJECT_CLASSES.map(formatObjectClass) },
  ];
}

// ---------------------------------------------------------------------------------------
// Names

const KEYSTRING = /^[A-Za-z][A-Za-z0-9-]*$/;

/**
 * Every lower-cased name and OID of a declared attribute type → the name our entries use for
 * it (the first NAME that is a valid `descr`: `ak-active`, not `goauthentik.io/ldap/active`).
 */
const ATTRIBUTE_KEYS: ReadonlyMap<string, string> = (() => {
  const out = new Map<string, string>();
  for (const d of ATTRIBUTE_TYPES) {
    const primary = (d.names.find((n) => KEYSTRING.test(n)) ?? d.names[0] ?? d.oid).toLowerCase();
    for (const alias of [d.oid, ...d.names]) {
      const a = alias.toLowerCase();
      if (a !== primary) out.set(a, primary);
    }
  }
  return out;
})();

/**
 * The key an attribute description is looked up by: options stripped (`cn;lang-en`), lower
 * case, and any other name or the OID of a declared type mapped to its primary name
 * (`commonName`, `2.5.4.3` → `cn`; `rfc822Mailbox` → `mail`). RFC 4512 §2.5: these all name
 * one attribute type, so filters, attribute lists and compare must treat them alike.
 */
export function attributeKey(description: string): string {
  const semi = description.indexOf(';');
  const t = (semi < 0 ? description : description.slice(0, semi)).toLowerCase();
  return ATTRIBUTE_KEYS.get(t) ?? t;
}
