import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ATTRIBUTE_TYPES, OBJECT_CLASSES, SUBSCHEMA_DN, attributeKey, subschemaAttributes } from '../../../src/ldap/protocol/schema.ts';
import { SchemaSyntaxError, parseSchemaDefinition, type DefinitionKind, type SchemaDefinition } from '../../../src/ldap/protocol/schema-syntax.ts';

const attrs = new Map(subschemaAttributes().map((a) => [a.type, a.values.map(String)]));
const KIND_OF: Record<string, DefinitionKind> = {
  attributeTypes: 'attributeType',
  objectClasses: 'objectClass',
  ldapSyntaxes: 'ldapSyntax',
  matchingRules: 'matchingRule',
};

function parsedAll(): Map<string, SchemaDefinition[]> {
  const out = new Map<string, SchemaDefinition[]>();
  for (const [attr, kind] of Object.entries(KIND_OF)) {
    out.set(
      attr,
      (attrs.get(attr) ?? []).map((v) => parseSchemaDefinition(kind, v, { allowNonKeystringNames: true })),
    );
  }
  return out;
}

const NON_DESCR_NAME = /'[^']*[./][^']*'/;

describe('subschema entry', () => {
  it('has the expected shape', () => {
    assert.equal(SUBSCHEMA_DN, 'cn=subschema');
    assert.deepEqual(attrs.get('cn'), ['subschema']);
    assert.deepEqual(attrs.get('objectClass'), ['top', 'subSchema']);
    for (const a of Object.keys(KIND_OF)) assert.ok((attrs.get(a)?.length ?? 0) > 0, a);
  });

  it('every definition parses (quoted non-descr NAMEs allowed)', () => {
    const all = parsedAll();
    let n = 0;
    for (const defs of all.values()) n += defs.length;
    assert.equal(n, [...attrs.entries()].filter(([k]) => k in KIND_OF).reduce((s, [, v]) => s + v.length, 0));
  });

  it('every definition is strict RFC 4512 except for the quoted goauthentik.io NAMEs', () => {
    let lenientOnly = 0;
    for (const [attr, kind] of Object.entries(KIND_OF)) {
      for (const v of attrs.get(attr) ?? []) {
        if (NON_DESCR_NAME.test(v)) {
          lenientOnly++;
          assert.throws(() => parseSchemaDefinition(kind, v), SchemaSyntaxError, v);
          // Drop the non-descr names: what remains must be strict.
          const stripped = v
            .replace(/NAME \( '[^']*[./][^']*' ('[^']*') \)/, 'NAME $1')
            .replace(/ NAME '[^']*[./][^']*'/, '');
          assert.doesNotThrow(() => parseSchemaDefinition(kind, stripped), stripped);
        } else {
          assert.doesNotThrow(() => parseSchemaDefinition(kind, v), v);
        }
      }
    }
    // ak-active, ak-superuser, and the user / group / virtual-group classes
    assert.equal(lenientOnly, 5);
  });

  it('is referentially complete and unambiguous', () => {
    const all = parsedAll();
    const oids = new Set<string>();
    const names = new Map<string, string>();
    for (const defs of all.values()) {
      for (const d of defs) {
        assert.ok(!oids.has(`${d.kind}:${d.oid}`), `duplicate OID ${d.oid}`);
        oids.add(`${d.kind}:${d.oid}`);
        for (const n of d.names) {
          const key = `${d.kind}:${n.toLowerCase()}`;
          assert.ok(!names.has(key), `duplicate name ${n}`);
          names.set(key, d.oid);
        }
      }
    }
    const known = (kind: DefinitionKind, ref: string): boolean => oids.has(`${kind}:${ref}`) || names.has(`${kind}:${ref.toLowerCase()}`);
    const list = (d: SchemaDefinition, k: string): readonly string[] => {
      const v = d.fields.get(k);
      return v === undefined || v === true ? [] : v;
    };
    for (const d of all.get('attributeTypes')!) {
      for (const k of ['EQUALITY', 'ORDERING', 'SUBSTR']) for (const r of list(d, k)) assert.ok(known('matchingRule', r), `${d.oid} ${k} ${r}`);
      for (const s of list(d, 'SYNTAX')) assert.ok(known('ldapSyntax', s.replace(/\{\d+\}$/, '')), `${d.oid} SYNTAX ${s}`);
      for (const s of list(d, 'SUP')) assert.ok(known('attributeType', s), `${d.oid} SUP ${s}`);
    }
    for (const d of all.get('objectClasses')!) {
      for (const s of list(d, 'SUP')) assert.ok(known('objectClass', s), `${d.oid} SUP ${s}`);
      for (const k of ['MUST', 'MAY']) for (const a of list(d, k)) assert.ok(known('attributeType', a), `${d.names[0]} ${k} ${a}`);
      assert.equal([...d.fields.keys()].filter((k) => ['ABSTRACT', 'STRUCTURAL', 'AUXILIARY'].includes(k)).length, 1);
    }
    for (const d of all.get('matchingRules')!) for (const s of list(d, 'SYNTAX')) assert.ok(known('ldapSyntax', s), `${d.oid} SYNTAX ${s}`);
  });

  it('describes every attribute and object class the outpost emits', () => {
    const attrNames = new Set(ATTRIBUTE_TYPES.flatMap((a) => a.names.map((n) => n.toLowerCase())));
    const emitted = [
      'cn', 'sAMAccountName', 'uid', 'name', 'displayName', 'sn', 'mail', 'objectClass', 'memberOf', 'member',
      'uidNumber', 'gidNumber', 'homeDirectory', 'ak-active', 'ak-superuser', 'loginShell', 'goauthentik.io/ldap/active',
      'distinguishedName', 'commonName', 'namingContexts', 'subschemaSubentry', 'supportedLDAPVersion', 'entryDN',
      'vendorName', 'vendorVersion', 'supportedControl', 'supportedExtension', 'attributeTypes', 'objectClasses',
      'ldapSyntaxes', 'matchingRules',
    ];
    for (const a of emitted) assert.ok(attrNames.has(a.toLowerCase()), a);
    const classNames = new Set(OBJECT_CLASSES.flatMap((c) => c.names.map((n) => n.toLowerCase())));
    const classes = [
      'top', 'user', 'organizationalPerson', 'inetOrgPerson', 'goauthentik.io/ldap/user', 'posixAccount', 'group',
      'groupOfUniqueNames', 'groupOfNames', 'goauthentik.io/ldap/group', 'posixGroup', 'goauthentik.io/ldap/virtual-group',
      'nsContainer', 'subSchema', 'person',
    ];
    for (const c of classes) assert.ok(classNames.has(c.toLowerCase()), c);
  });

  it('keeps authentik\'s numeric OIDs and NAME spelling for its own attributes', () => {
    const at = attrs.get('attributeTypes')!;
    assert.ok(at.some((v) => v.startsWith("( 1.3.6.1.4.1.26027.1.1.3 NAME ( 'goauthentik.io/ldap/active' 'ak-active' ) ")));
    assert.ok(at.some((v) => v.startsWith("( 1.3.6.1.4.1.26027.1.1.2 NAME ( 'goauthentik.io/ldap/superuser' 'ak-superuser' ) ")));
    assert.ok(attrs.get('objectClasses')!.some((v) => v.startsWith("( 1.3.6.1.4.1.26027.1.1.1 NAME 'goauthentik.io/ldap/user' ")));
    const uidNumber = at.find((v) => v.includes("NAME 'uidNumber'"));
    assert.equal(uidNumber, "( 1.3.6.1.1.1.1.0 NAME 'uidNumber' EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )");
  });
});

describe('subschema entry: what clients written against authentik read', () => {
  const types = new Map<string, SchemaDefinition>();
  for (const d of parsedAll().get('attributeTypes')!) for (const n of d.names) types.set(n.toLowerCase(), d);
  const type = (name: string): SchemaDefinition => {
    const d = types.get(name.toLowerCase());
    assert.ok(d, `${name} is declared`);
    return d;
  };

  it('declares createTimestamp and modifyTimestamp (ldap3 asks for them by name when it re-reads the schema after StartTLS)', () => {
    for (const [name, oid] of [
      ['createTimestamp', '2.5.18.1'],
      ['modifyTimestamp', '2.5.18.2'],
    ] as const) {
      const d = type(name);
      assert.equal(d.oid, oid);
      assert.deepEqual(d.fields.get('SYNTAX'), ['1.3.6.1.4.1.1466.115.121.1.24']);
      assert.deepEqual(d.fields.get('USAGE'), ['directoryOperation']);
    }
  });

  // authentik's schema.go (2024.4 … 2026.8): SINGLE-VALUE on these, not on the others it declares.
  const AUTHENTIK_SINGLE = [
    'uid', 'mail', 'mobile', 'displayName', 'name', 'co', 'department', 'company', 'homeDirectory', 'sAMAccountName',
    'division', 'uidNumber', 'gidNumber', 'c', 'l', 'telephoneNumber', 'givenName', 'cn', 'sn', 'title',
    'ak-superuser', 'ak-active', 'goauthentikio-user-override-ips', 'goauthentikio-user-service-account',
  ];
  const AUTHENTIK_MULTI = ['objectClass', 'memberOf', 'o', 'ou', 'description', 'member'];

  it("is SINGLE-VALUE exactly where authentik's schema is (ldap3 then returns a value, not a list)", () => {
    for (const n of AUTHENTIK_SINGLE) assert.equal(type(n).fields.get('SINGLE-VALUE'), true, `${n} is SINGLE-VALUE`);
    for (const n of AUTHENTIK_MULTI) assert.equal(type(n).fields.get('SINGLE-VALUE'), undefined, `${n} is multi-valued`);
  });

  it('gives ak-active, ak-superuser and the boolean custom attributes the Boolean syntax, as authentik', () => {
    for (const n of ['ak-active', 'ak-superuser', 'goauthentikio-user-override-ips', 'goauthentikio-user-service-account']) {
      assert.deepEqual(type(n).fields.get('SYNTAX'), ['1.3.6.1.4.1.1466.115.121.1.7'], n);
    }
    assert.deepEqual(type('uidNumber').fields.get('SYNTAX'), ['1.3.6.1.4.1.1466.115.121.1.27']);
  });

  it('attributeKey: every name and the OID of a declared type give its primary name; options are stripped', () => {
    for (const d of ATTRIBUTE_TYPES) {
      const primary = attributeKey(d.names.find((n) => /^[A-Za-z][A-Za-z0-9-]*$/.test(n))!);
      for (const alias of [d.oid, ...d.names, ...d.names.map((n) => n.toUpperCase())]) assert.equal(attributeKey(alias), primary, alias);
    }
    assert.equal(attributeKey('commonName'), 'cn');
    assert.equal(attributeKey('2.5.4.3;lang-en'), 'cn');
    assert.equal(attributeKey('RFC822MAILBOX'), 'mail');
    assert.equal(attributeKey('userid'), 'uid');
    assert.equal(attributeKey('goauthentik.io/ldap/superuser'), 'ak-superuser');
    assert.equal(attributeKey('loginShell'), 'loginshell');
    assert.equal(attributeKey('notDeclared;binary'), 'notdeclared');
  });
});

describe('RFC 4512 definition parser', () => {
  it('parses all fields', () => {
    const d = parseSchemaDefinition(
      'attributeType',
      "( 2.5.4.41 NAME ( 'name' 'nm' ) DESC 'it\\27s a \\5C name' OBSOLETE EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} X-ORIGIN ( 'RFC 4519' 'x' ) X-A 'b' )",
    );
    assert.equal(d.oid, '2.5.4.41');
    assert.deepEqual(d.names, ['name', 'nm']);
    assert.deepEqual(d.fields.get('DESC'), ["it's a \\ name"]);
    assert.equal(d.fields.get('OBSOLETE'), true);
    assert.deepEqual(d.fields.get('SYNTAX'), ['1.3.6.1.4.1.1466.115.121.1.15{32768}']);
    assert.deepEqual(d.extensions.get('X-ORIGIN'), ['RFC 4519', 'x']);
    const oc = parseSchemaDefinition('objectClass', "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $telephoneNumber$ seeAlso ) )");
    assert.deepEqual(oc.fields.get('MAY'), ['userPassword', 'telephoneNumber', 'seeAlso']);
    assert.deepEqual(oc.fields.get('MUST'), ['sn', 'cn']);
    assert.equal(oc.fields.get('STRUCTURAL'), true);
  });

  // Real defects of authentik's schema entry (ldap.md §9 item 17) and other classics.
  const bad: [DefinitionKind, string, string][] = [
    ['attributeType', "( 0.9.2342.19200300.100.1.1 NAME 'uid' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )", 'quoted SYNTAX'],
    ['attributeType', "( 1.2.840.113556.1.2.102 NAME 'memberOf' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 NO-USER-MODIFICATION )", 'NO-USER-MODIFICATION on a user attribute'],
    ['attributeType', "( 1.3.6.1.4.1.26027.1.1.5 NAME 'x' SYNTAX '1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE' )", 'keyword inside the quotes'],
    ['objectClass', "( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP user AUX MUST sAMAccountName )", 'AUX kind'],
    [
      'objectClass',
      "( 1.3.6.1.4.1.26027.1.1.1 NAME 'goauthentik.io/ldap/user' SUP organizationalPerson STRUCTURAL MAY ( ak-superuser $ goauthentik.io/ldap/active ) )",
      'unquoted non-descr reference',
    ],
    ['attributeType', "( 2.5.4.3 NAME 'cn' )", 'neither SUP nor SYNTAX'],
    ['attributeType', "( 2.5.4.3 SYNTAX 1.2 NAME 'cn' )", 'fields out of order'],
    ['attributeType', "( 2.5.4.3 NAME 'cn' NAME 'x' SUP name )", 'repeated field'],
    ['attributeType', "( cn NAME 'cn' SUP name )", 'descr instead of numericoid'],
    ['attributeType', "( 2.5.4.3 NAME 'cn SUP name )", 'unterminated quote'],
    ['attributeType', "( 2.5.4.3 NAME 'cn' DESC 'a\\b' SUP name )", 'bad escape'],
    ['attributeType', "( 2.5.4.3 NAME 'cn' SUP name USAGE weird )", 'bad usage'],
    ['attributeType', "( 2.5.4.3 NAME 'cn' SUP name", 'missing paren'],
    ['attributeType', "( 2.5.4.3 NAME 'cn' SUP name ) x", 'trailing text'],
    ['attributeType', "( 2.5.4.3 NAME 'cn'SUP name )", 'missing space'],
    ['attributeType', "( 2.5.4.3 NAME ( ) SUP name )", 'empty NAME list'],
    ['objectClass', "( 2.5.6.6 NAME 'person' STRUCTURAL ABSTRACT )", 'two kinds'],
    ['objectClass', "( 2.5.6.6 NAME 'person' MUST ( sn $ ) )", 'dangling $'],
    ['matchingRule', "( 2.5.13.2 NAME 'caseIgnoreMatch' )", 'rule without SYNTAX'],
    ['ldapSyntax', "( 1.2.3 DESC 'x' NAME 'y' )", 'NAME on a syntax'],
  ];
  for (const [kind, src, what] of bad) {
    it(`rejects: ${what}`, () => {
      assert.throws(() => parseSchemaDefinition(kind, src, { allowNonKeystringNames: true }), SchemaSyntaxError);
    });
  }
});
