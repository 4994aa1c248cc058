// End-to-end support for the whole LDAP outpost: the development core, a real outpost runtime
// with the LDAP listener on port 0, the OpenLDAP tools and ldapts against it, metrics scraping.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Client } from 'ldapts';
import type { ListenerPlugin } from '../../../src/agent/listener.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startDevCore, type DevCore, type RecordedRequest, type SeedDocument } from '../../../src/devcore/index.ts';
import { ldapPlugin, type LdapListener } from '../../../src/ldap/listener.ts';
import { encodeRequest } from '../../../src/ldap/protocol/index.ts';
import { AUTHENTIK_VERSIONS, TEST_SEED, startOutpost, testConfig, type AuthentikVersion, type TestOutpost } from '../../support/outpost.ts';
import { run, within, type RunResult } from '../server/support.ts';

export { run, within, type RunResult };
export { AUTHENTIK_VERSIONS, type AuthentikVersion };

/** The test provider's base DN (config/devcore-test.yaml), as configured (lower case). */
export const B = 'dc=ldap,dc=goauthentik,dc=io';
export const U = (name: string): string => `cn=${name},ou=users,${B}`;
export const G = (name: string): string => `cn=${name},ou=groups,${B}`;
export const VG = (name: string): string => `cn=${name},ou=virtual-groups,${B}`;

export const PASSWORDS: Readonly<Record<string, string>> = {
  akadmin: 'akadmin',
  alice: 'alice-password',
  bob: 'bob-password',
  carol: 'carol-password',
  dave: 'dave-password',
  erin: 'erin-password',
};
export const BOB_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';
export const OUTPOST_TOKEN = 'test-ldap-token';
export const TLS_ENV = { LDAPTLS_REQCERT: 'never' };

export interface LdapOutpost {
  readonly core: DevCore;
  readonly outpost: TestOutpost;
  readonly listener: LdapListener;
  readonly url: string;
  readonly ldapsUrl: string;
  readonly ldapPort: number;
  readonly ldapsPort: number;
  readonly metricsUrl: string;
  /** Refresh every agent now (picks up provider changes) and fail if a refresh failed. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** config/devcore-test.yaml as a document, for tests that change the seed before the core starts. */
export function testSeed(): SeedDocument & Record<string, unknown[]> {
  return parseYaml(readFileSync(TEST_SEED, 'utf8')) as SeedDocument & Record<string, unknown[]>;
}

/**
 * A development core (authentik 2026.8's API unless `authentikVersion` says otherwise) and an
 * outpost serving `test-ldap` on 127.0.0.1 (plain and LDAPS, port 0). `beforeStart` runs
 * against the core before the outpost starts (provider settings).
 */
export async function startLdapOutpost(
  opts: { env?: NodeJS.ProcessEnv; seed?: SeedDocument; authentikVersion?: AuthentikVersion; beforeStart?: (core: DevCore) => void } = {},
): Promise<LdapOutpost> {
  const core = await startDevCore({ seed: opts.seed ?? TEST_SEED, port: 0, ...(opts.authentikVersion ? { authentikVersion: opts.authentikVersion } : {}) });
  opts.beforeStart?.(core);
  const config = testConfig(core.url, [OUTPOST_TOKEN], { AUTHENTIK_LISTEN__LDAP: '127.0.0.1:0', AUTHENTIK_LISTEN__LDAPS: '127.0.0.1:0', ...opts.env });
  let outpost: TestOutpost;
  try {
    outpost = await startOutpost(config, [ldapPlugin as ListenerPlugin]);
  } catch (err) {
    await core.close();
    throw err;
  }
  const listener = outpost.runtime.listener('ldap') as LdapListener | undefined;
  assert.ok(listener, 'the runtime created an LDAP listener');
  const { ldapPort, ldapsPort } = listener.ports;
  assert.ok(ldapPort && ldapsPort, 'both LDAP listeners are bound');
  return {
    core,
    outpost,
    listener,
    url: `ldap://127.0.0.1:${ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    ldapPort,
    ldapsPort,
    get metricsUrl() {
      return outpost.metricsUrl;
    },
    async refresh() {
      const results = await outpost.runtime.refreshAll('test');
      assert.ok(results.every(Boolean), 'the refresh succeeded');
    },
    async stop() {
      await outpost.runtime.shutdown();
      await core.close();
    },
  };
}

// ---------------------------------------------------------------------------------------
// OpenLDAP tools

/** `-x -D <dn> -w <password>` for a seeded user (or explicit dn/password). */
export function auth(user: string, password = PASSWORDS[user] ?? ''): string[] {
  return ['-x', '-D', user.includes('=') ? user : U(user), '-w', password];
}

/** ldapsearch with `-LLL`-free output (so `# numEntries` and `result:` lines are there). */
export function ldapsearch(url: string, args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run('ldapsearch', ['-H', url, '-o', 'ldif_wrap=no', ...args], env);
}

export function numEntries(ldif: string): number {
  const m = /^# numEntries: (\d+)$/m.exec(ldif);
  return m === null ? 0 : Number(m[1]);
}

/** The `dn:` lines of an ldapsearch output, in order. */
export function dnsOf(ldif: string): string[] {
  return [...ldif.matchAll(/^dn: ?(.*)$/gm)].map((m) => m[1]!);
}

/** The `result: N` code of an ldapsearch output (the search's, not the bind's). */
export function resultOf(ldif: string): number | undefined {
  const m = /^result: (\d+)/m.exec(ldif);
  return m === null ? undefined : Number(m[1]);
}

/** Parse ldapsearch LDIF into entries: dn → attribute (lower-case name) → values. */
export function parseLdif(ldif: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  let cur: Map<string, string[]> | undefined;
  for (const line of ldif.split('\n')) {
    if (line.startsWith('#') || line === '') {
      if (line === '') cur = undefined;
      continue;
    }
    const m = /^([^:]+):(:?) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, name, b64, raw] = m as unknown as [string, string, string, string];
    const value = b64 ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    if (name === 'dn') {
      cur = new Map();
      out.set(value, cur);
      continue;
    }
    if (!cur) continue;
    const key = name.toLowerCase();
    cur.set(key, [...(cur.get(key) ?? []), value]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// ldapts

const clients = new Set<Client>();

export function client(url: string, opts: { tlsOptions?: tls.ConnectionOptions } = {}): Client {
  const c = new Client({ url, timeout: 5000, connectTimeout: 5000, ...(opts.tlsOptions ? { tlsOptions: opts.tlsOptions } : {}) });
  clients.add(c);
  return c;
}

/** Unbind every ldapts client created by `client()` (call in `after`). */
export async function closeClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.unbind().catch(() => {})));
  clients.clear();
}

export function codeOf(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number' ? e.code : undefined;
}

export async function rejectsWith(p: Promise<unknown>, code: number): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.equal(codeOf(e), code, `expected result ${code}, got ${String(e)}`);
    return;
  }
  assert.fail(`expected result ${code}, got success`);
}

// ---------------------------------------------------------------------------------------
// Core requests, metrics, TLS

/** The access check a bind through `test-ldap-provider` (pk 1) makes, per API generation. */
export function checkAccessPath(version: AuthentikVersion): string {
  return version === '2024.4' ? '/api/v3/core/applications/test-ldap-app/check_access/' : '/api/v3/outposts/ldap/1/check_access/';
}

/**
 * The flow executor requests the core received since `since` (a `requests().length`), without
 * the bind flow warm-ups (a GET the listener sends at start and every cache_timeout_flows).
 */
export function flowRequests(core: DevCore, since = 0): RecordedRequest[] {
  return core.admin
    .requests()
    .slice(since)
    .filter((r) => r.path.startsWith('/api/v3/flows/executor/') && !r.rawQuery.includes('ldap-warmup'));
}

import { metricsText, metricValue } from '../../support/metrics.ts';
export { metricsText, metricValue };

/** The certificate an LDAPS port serves (with `servername` as SNI, if given). */
export function ldapsCertificate(port: number, servername?: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no peer certificate'));
    });
    s.once('error', reject);
  });
}

/** The certificate the plain port serves after StartTLS (with `servername` as SNI, if given). */
export async function startTlsCertificate(port: number, servername?: string): Promise<X509Certificate> {
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  sock.write(encodeRequest(1, { type: 'extended', name: '1.3.6.1.4.1.1466.20037', value: undefined }));
  const response = await new Promise<Buffer>((resolve, reject) => {
    sock.once('data', (d: Buffer) => resolve(d));
    sock.once('close', () => reject(new Error('closed before the StartTLS response')));
  });
  // ExtendedResponse (0x78) with resultCode 0 (ENUMERATED 0x0a 0x01 0x00).
  assert.ok(response.includes(Buffer.from([0x78])) && response.includes(Buffer.from([0x0a, 0x01, 0x00])), `StartTLS accepted: ${response.toString('hex')}`);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ socket: sock, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      if (cert) resolve(cert);
      else reject(new Error('no peer certificate'));
    });
    s.once('error', reject);
  });
}

/** `AB:CD:...` and `abcd...` compared as the same fingerprint. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/:/g, '').toLowerCase();
  return norm(a) === norm(b);
}
