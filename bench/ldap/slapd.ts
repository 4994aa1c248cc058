// A throwaway OpenLDAP slapd (mdb) on loopback with its own config and database directory, loaded
// with the same users and groups as the development core's DEMO_USERS (for side-by-side runs),
// in the outpost's layout: users under ou=users, groups under ou=groups, and each user's
// virtual group (cn=<user>,ou=virtual-groups), so `(cn=userN)` from the base finds two entries
// on both servers. The searcher (cn=searcher,<base>) lives outside ou=users, which holds the
// generated users only. slapd logs nothing per operation (`loglevel 0`), like the outpost at log
// level error: at slapd's default (`stats`), several syslog lines per operation, sent to a
// /dev/log that may not exist, cost it more than the operation itself.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { pinned } from '../support.ts';

export const BASE_DN = 'dc=ldap,dc=goauthentik,dc=io';
/** The account searches bind as (any bound or anonymous client may read everything). */
export const SLAPD_SEARCHER = { dn: `cn=searcher,${BASE_DN}`, password: 'searcher-password' };

export interface Slapd {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** `{SSHA}` as slapd stores and checks it. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function ldif(users: number, groups: number, password: string): string {
  const hash = ssha(password);
  const out: string[] = [
    `dn: ${BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: bench\ndc: ldap\n`,
    `dn: ou=users,${BASE_DN}\nobjectClass: organizationalUnit\nou: users\n`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ou=virtual-groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: virtual-groups\n`,
    `dn: ${SLAPD_SEARCHER.dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: searcher\nuserPassword: ${ssha(SLAPD_SEARCHER.password)}\n`,
  ];
  for (let i = 1; i <= users; i++) {
    out.push(
      `dn: cn=user${i},ou=users,${BASE_DN}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\ncn: user${i}\nsn: User ${i}\nuid: user${i}\n` +
        `mail: user${i}@example.com\ndisplayName: User ${i}\nuidNumber: ${2000 + i}\ngidNumber: ${2000 + i}\nhomeDirectory: /home/user${i}\nuserPassword: ${hash}\n`,
      `dn: cn=user${i},ou=virtual-groups,${BASE_DN}\nobjectClass: groupOfNames\ncn: user${i}\nmember: cn=user${i},ou=users,${BASE_DN}\n`,
    );
  }
  for (let g = 1; g <= groups; g++) {
    const members: string[] = [];
    for (let i = g; i <= users; i += groups) members.push(`member: cn=user${i},ou=users,${BASE_DN}`);
    if (members.length === 0) members.push(`member: cn=user1,ou=users,${BASE_DN}`);
    out.push(`dn: cn=group${g},ou=groups,${BASE_DN}\nobjectClass: groupOfNames\ncn: group${g}\n${members.join('\n')}\n`);
  }
  return out.join('\n');
}

function config(dir: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile ${dir}/slapd.pid
sizelimit unlimited
threads 4
loglevel 0
database mdb
maxsize 4294967296
suffix "${BASE_DN}"
rootdn "cn=admin,${BASE_DN}"
rootpw ${randomBytes(12).toString('hex')}
directory ${dir}/db
index objectClass eq
index cn,uid,mail eq
index uidNumber,gidNumber eq
index member eq
access to * by * read
`;
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('slapd did not start listening');
}

/** `cpus`: a `taskset -c` list slapd runs pinned to (default: unpinned). */
export async function startSlapd(opts: { port: number; users: number; groups: number; password: string; cpus?: string | undefined }): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-slapd-'));
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, 'slapd.conf'), config(dir));
  writeFileSync(join(dir, 'data.ldif'), ldif(opts.users, opts.groups, opts.password));
  const load = spawnSync('/usr/sbin/slapadd', ['-q', '-f', join(dir, 'slapd.conf'), '-l', join(dir, 'data.ldif')], { encoding: 'utf8' });
  if (load.status !== 0) throw new Error(`slapadd failed: ${load.stderr}`);
  const [cmd, args] = pinned(opts.cpus, '/usr/sbin/slapd', ['-d', '0', '-f', join(dir, 'slapd.conf'), '-h', `ldap://127.0.0.1:${opts.port}/`]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(opts.port, child);
  return {
    port: opts.port,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
