// LDAP: the outpost (cached bind and search modes, on the development core) side by side with
// a throwaway OpenLDAP slapd holding the same users, driven by the same load generator.
// Usage: npm run bench:ldap [-- --seconds 5 --connections 32 --users 10000 --skip-100k]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { BASE_DN, startSlapd } from './slapd.ts';
import { LoadConnection, runLoad, type RunResult } from './load.ts';
import { freePort, rssMb, until } from '../support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    users: { type: 'string', default: '10000' },
    'skip-100k': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const USERS = Number(values.users);
const PASSWORD = 'bench-pass';
/** Binds cycle over this many users, each bound once before measuring (the bind cache is warm). */
const BIND_USERS = Math.min(1000, USERS);
const ROOT = new URL('../../', import.meta.url).pathname;




interface Outpost {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return once(child, 'exit').then(() => undefined);
}

/** The development core and the outpost, both cached, as separate processes. */
async function startOutpost(users: number): Promise<Outpost> {
  const corePort = await freePort();
  const core = spawn(process.execPath, [`${ROOT}src/devcore/main.ts`], {
    env: { ...process.env, DEVCORE_SEED: `${ROOT}config/demo.yaml`, DEVCORE_LISTEN: `127.0.0.1:${corePort}`, DEMO_USERS: String(users) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const coreUrl = `http://127.0.0.1:${corePort}`;
  await until('the development core', async () => (await fetch(`${coreUrl}/api/v3/root/config/`, { headers: { authorization: 'Bearer demo-ldap-token' } })).ok);
  const patch = await fetch(`${coreUrl}/_devcore/providers/ldap-provider`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer devcore-admin', 'content-type': 'application/json' },
    body: JSON.stringify({ bind_mode: 'cached', search_mode: 'cached' }),
  });
  if (!patch.ok) throw new Error(`cannot switch the provider to cached modes: ${patch.status}`);

  const [ldapPort, ldapsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const outpost = spawn(process.execPath, ['--max-semi-space-size=16', `${ROOT}src/main.ts`], {
    env: {
      ...process.env,
      AUTHENTIK_HOST: coreUrl,
      AUTHENTIK_TOKEN: 'demo-ldap-token',
      AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
      AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
      AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}`,
      AUTHENTIK_LOG_LEVEL: 'error',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await until('the outpost', async () => (await fetch(`http://127.0.0.1:${metricsPort}/outpost.goauthentik.io/ready`)).status === 204);
  return {
    port: ldapPort,
    pid: outpost.pid ?? 0,
    stop: async () => {
      await stopChild(outpost);
      await stopChild(core);
    },
  };
}

interface Measured {
  binds: RunResult;
  searches: RunResult;
  fullMs: number;
  fullEntries: number;
}

async function measure(port: number, searcher: { dn: string; password: string }, fullFilter: string): Promise<Measured> {
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => LoadConnection.open(port)));
  try {
    const userDn = (i: number) => `cn=user${(i % BIND_USERS) + 1},ou=users,${BASE_DN}`;
    // Warm-up: every user binds once (fills the outpost's bind cache), and JIT/connections settle.
    await Promise.all(conns.map(async (c, k) => {
      for (let i = k; i < BIND_USERS; i += conns.length) await c.bind(userDn(i), PASSWORD);
    }));
    const binds = await runLoad(conns, SECONDS, async (c, i) => (await c.bind(userDn(i), PASSWORD)).resultCode === 0);

    for (const c of conns) if ((await c.bind(searcher.dn, searcher.password)).resultCode !== 0) throw new Error(`bind as ${searcher.dn} failed`);
    // The outpost also has a virtual group named after each user, so (cn=userN) matches 2 there.
    const searches = await runLoad(conns, SECONDS, async (c, i) => (await c.search(BASE_DN, `(cn=user${(i * 7919) % USERS + 1})`)).entries >= 1);

    const times: number[] = [];
    let fullEntries = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      fullEntries = (await conns[0]!.search(BASE_DN, fullFilter)).entries;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { binds, searches, fullMs: times[2] ?? NaN, fullEntries };
  } finally {
    for (const c of conns) c.close();
  }
}

const rate = (r: RunResult) => r.count / r.seconds;
const fmt = (n: number, d = 0) => n.toFixed(d);

async function main(): Promise<void> {
  process.stdout.write(`LDAP benchmark: ${USERS} users, ${CONNECTIONS} connections, ${SECONDS} s per run, ${BIND_USERS} distinct users binding\n`);
  const slapd = await startSlapd({ port: await freePort(), users: USERS, groups: 100, password: PASSWORD });
  let ref: Measured;
  try {
    ref = await measure(slapd.port, { dn: `cn=user1,ou=users,${BASE_DN}`, password: PASSWORD }, '(objectClass=inetOrgPerson)');
  } finally {
    await slapd.stop();
  }
  const outpost = await startOutpost(USERS);
  let ours: Measured;
  let rss: number;
  try {
    ours = await measure(outpost.port, { dn: `cn=akadmin,ou=users,${BASE_DN}`, password: 'akadmin' }, '(objectClass=user)');
    rss = rssMb(outpost.pid);
  } finally {
    await outpost.stop();
  }

  const rows = [
    ['', 'outpost (cached)', 'slapd', 'outpost/slapd'],
    ['simple binds/s', fmt(rate(ours.binds)), fmt(rate(ref.binds)), fmt(rate(ours.binds) / rate(ref.binds), 2)],
    ['  bind p50 / p99 ms', `${fmt(ours.binds.p50, 2)} / ${fmt(ours.binds.p99, 2)}`, `${fmt(ref.binds.p50, 2)} / ${fmt(ref.binds.p99, 2)}`, ''],
    ['(cn=userN) searches/s', fmt(rate(ours.searches)), fmt(rate(ref.searches)), fmt(rate(ours.searches) / rate(ref.searches), 2)],
    ['  search p50 / p99 ms', `${fmt(ours.searches.p50, 2)} / ${fmt(ours.searches.p99, 2)}`, `${fmt(ref.searches.p50, 2)} / ${fmt(ref.searches.p99, 2)}`, ''],
    ['full directory ms', `${fmt(ours.fullMs)} (${ours.fullEntries} entries)`, `${fmt(ref.fullMs)} (${ref.fullEntries} entries)`, fmt(ours.fullMs / ref.fullMs, 2)],
    ['errors', String(ours.binds.errors + ours.searches.errors), String(ref.binds.errors + ref.searches.errors), ''],
    ['outpost RSS MB', fmt(rss), '', ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);

  if (!values['skip-100k']) {
    const big = await startOutpost(100_000);
    try {
      const c = await LoadConnection.open(big.port);
      await c.bind(`cn=akadmin,ou=users,${BASE_DN}`, 'akadmin');
      const full = await c.search(BASE_DN, '(objectClass=user)');
      c.close();
      process.stdout.write(`outpost RSS with 100000 users (cached, after a full search of ${full.entries} entries): ${fmt(rssMb(big.pid))} MB\n`);
    } finally {
      await big.stop();
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
