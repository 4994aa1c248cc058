// `npm run demo` as a new user runs it: everything comes up on the default ports, and stops
// cleanly on SIGTERM.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { waitFor } from '../support/wait.ts';

const DEMO = new URL('../../src/demo/main.ts', import.meta.url).pathname;
const run = promisify(execFile);
const BASE = 'dc=ldap,dc=goauthentik,dc=io';

describe('npm run demo', () => {
  let child: ChildProcess;
  let out = '';

  before(async () => {
    child = spawn(process.execPath, [DEMO], { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], DEMO_USERS: '1000', DEMO_LDAP_MODE: 'cached' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('demo running', () => out.includes('"event":"demo running"'), 20_000);
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints what to try, for every demo outpost', () => {
    for (const name of ['demo-ldap', 'demo-radius', 'demo-proxy']) assert.match(out, new RegExp(`${name} \\(`));
    assert.match(out, /alice\/alice-password/);
    // The proxy's apps by the host they are routed by: the browser URL, and the forward-auth one.
    assert.match(out, /open http:\/\/localhost:9000\/ in a browser/);
    assert.match(out, /http:\/\/whoami\.localhost:9080\/ \(forward_single\): through nginx or Caddy/);
  });

  it('the printed curl for the proxy app is sent to the login', async () => {
    const url = /curl -si (\S+)/.exec(out)?.[1];
    assert.ok(url, 'a curl line for the proxy');
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /\/outpost\.goauthentik\.io\/start\?rd=/);
  });

  it('serves the core, the upstream app and the metrics endpoint on the default ports', async () => {
    assert.equal((await fetch('http://127.0.0.1:9300/outpost.goauthentik.io/ping')).status, 204);
    const cfg = await fetch('http://127.0.0.1:9900/api/v3/root/config/', { headers: { authorization: 'Bearer demo-ldap-token' } });
    assert.equal(cfg.status, 200);
    const users = (await (await fetch('http://127.0.0.1:9900/api/v3/core/users/?username=user1000', { headers: { authorization: 'Bearer demo-ldap-token' } })).json()) as { results: { username: string }[] };
    assert.deepEqual(users.results.map((u) => u.username), ['user1000'], 'DEMO_USERS adds generated users');
    const upstream = (await (await fetch('http://127.0.0.1:9901/', { headers: { accept: 'application/json', 'x-authentik-username': 'alice' } })).json()) as { user: string };
    assert.equal(upstream.user, 'alice');
  });

  it('answers the LDAP commands the README shows (cached mode)', async () => {
    const who = await run('ldapwhoami', ['-x', '-H', 'ldap://127.0.0.1:3389', '-D', `cn=alice,ou=users,${BASE}`, '-w', 'alice-password']);
    assert.equal(who.stdout.trim(), `dn:cn=alice,ou=users,${BASE}`);
    const search = await run('ldapsearch', ['-x', '-LLL', '-H', 'ldap://127.0.0.1:3389', '-D', `cn=akadmin,ou=users,${BASE}`, '-w', 'akadmin', '-b', BASE, '(cn=user1000)', 'cn', 'uidNumber']);
    assert.match(search.stdout, /^dn: cn=user1000,ou=users,dc=ldap,dc=goauthentik,dc=io$/m);
    assert.match(search.stdout, /^uidNumber: \d+$/m);
  });

  it('answers the RADIUS command the README shows', async () => {
    const child = spawn('radclient', ['-x', '-r', '1', '-t', '3', '127.0.0.1:1812', 'auth', 'demo-radius-secret'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stdin.end('User-Name=alice,User-Password=alice-password\n');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, text);
    assert.match(text, /Received Access-Accept/);
    assert.match(text, /Message-Authenticator = 0x[0-9a-f]{32}/);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
  });
});
