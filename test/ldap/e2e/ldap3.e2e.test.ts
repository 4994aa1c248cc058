// Python's ldap3 against the outpost, the way applications written against authentik use it:
// schema read at connect (get_info=ALL), StartTLS (after which ldap3 reads the schema again,
// asking for createTimestamp and modifyTimestamp by name and refusing names the schema it
// already holds does not declare), then searches whose values ldap3 shapes from the schema:
// SINGLE-VALUE attributes come back as a value, Boolean ones as Python booleans.
// Needs a python3 that imports ldap3 (Debian: python3-ldap3, which .ci/run installs); fails otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { B, PASSWORDS, U, run, startLdapOutpost, type LdapOutpost } from './support.ts';

/** The first python3 that can import ldap3 (a pyenv shim may shadow the system's). */
function pythonWithLdap3(): string | undefined {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import ldap3'], { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

// Prints one JSON document: what ldap3 returned, or the exception it raised.
const SCRIPT = `
import json, ssl, sys
from ldap3 import ALL, SUBTREE, Connection, Server, Tls
host, port, user, password, base, flt = sys.argv[1:7]
attrs = sys.argv[7].split(',')
out = {}
try:
    server = Server(host, port=int(port), get_info=ALL, tls=Tls(validate=ssl.CERT_NONE))
    conn = Connection(server, user=user, password=password, raise_exceptions=True)
    conn.open()
    out['schema_before_tls'] = server.schema is not None and 'cn' in server.schema.attribute_types
    conn.start_tls()
    out['tls'] = conn.tls_started
    conn.bind()
    conn.search(base, flt, SUBTREE, attributes=attrs)
    out['entries'] = [{'dn': e['dn'], 'attributes': {k: v for k, v in e['attributes'].items()}} for e in conn.response if e['type'] == 'searchResEntry']
    conn.unbind()
except Exception as e:
    out['error'] = type(e).__name__ + ': ' + str(e)
print(json.dumps(out, default=str))
`;

interface Ldap3Result {
  schema_before_tls?: boolean;
  tls?: boolean;
  entries?: { dn: string; attributes: Record<string, unknown> }[];
  error?: string;
}

const python = pythonWithLdap3();

describe('LDAP outpost: Python ldap3 (StartTLS, schema-shaped values)', () => {
  it('has a python3 with ldap3 to run (Debian: python3-ldap3)', () => {
    assert.ok(python !== undefined, 'no python3 can import ldap3: apt-get install python3-ldap3');
  });

  let o: LdapOutpost;
  const ldap3 = async (user: string, filter: string, attributes: string[]): Promise<Ldap3Result> => {
    const r = await run(python!, ['-c', SCRIPT, '127.0.0.1', String(o.ldapPort), U(user), PASSWORDS[user]!, B, filter, attributes.join(',')]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Ldap3Result;
  };

  before(async () => {
    o = await startLdapOutpost();
  });
  after(() => o?.stop());

  it('StartTLS with the schema loaded works (ldap3 re-reads the schema, asking for createTimestamp/modifyTimestamp)', async () => {
    const r = await ldap3('alice', '(cn=alice)', ['cn']);
    assert.equal(r.error, undefined);
    assert.equal(r.schema_before_tls, true);
    assert.equal(r.tls, true);
    assert.deepEqual(r.entries?.map((e) => e.dn), [U('alice'), `cn=alice,ou=virtual-groups,${B}`]);
  });

  it('values come back shaped as against authentik: single values as values, ak-active/ak-superuser as booleans, lists as lists', async () => {
    const r = await ldap3('akadmin', '(&(objectClass=user)(cn=alice))', ['cn', 'mail', 'uid', 'displayName', 'sn', 'uidNumber', 'gidNumber', 'homeDirectory', 'ak-active', 'ak-superuser', 'memberOf', 'objectClass']);
    assert.equal(r.error, undefined);
    const a = r.entries?.[0]?.attributes;
    assert.ok(a, JSON.stringify(r));
    assert.equal(a['cn'], 'alice');
    assert.equal(a['mail'], 'alice@example.com');
    assert.equal(a['displayName'], 'Alice Example');
    assert.equal(a['sn'], 'Alice Example');
    assert.equal(typeof a['uid'], 'string');
    assert.equal(a['homeDirectory'], '/home/alice');
    assert.equal(typeof a['uidNumber'], 'number', 'INTEGER syntax: a Python int');
    assert.equal(a['gidNumber'], a['uidNumber']);
    assert.equal(a['ak-active'], true, 'Boolean syntax: a Python bool');
    assert.equal(a['ak-superuser'], false);
    assert.ok(Array.isArray(a['memberOf']) && a['memberOf'].includes(`cn=staff,ou=groups,${B}`), 'multi-valued: a list');
    assert.ok(Array.isArray(a['objectClass']));
  });

  it('alternative names the schema declares work in filters and attribute lists (ldap3 checks them against the schema)', async () => {
    const r = await ldap3('akadmin', '(&(objectClass=user)(commonName=alice))', ['commonName', 'rfc822Mailbox', 'userid']);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.entries?.map((e) => e.dn), [U('alice')]);
    const a = r.entries![0]!.attributes;
    // The server names attributes as its entries do; ldap3 keys them by the returned name.
    assert.equal(a['cn'], 'alice');
    assert.equal(a['mail'], 'alice@example.com');
    assert.equal(typeof a['uid'], 'string');
  });
});
