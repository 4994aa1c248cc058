// The development core (config/demo.yaml plus DEMO_USERS) and the outpost, as separate
// processes, with the demo's LDAP provider in cached bind and cached search modes. The outpost
// runs as the image runs it (NODE_ENV=production, --max-semi-space-size=16), at the log level
// given (the outpost object's `log_level` on the core, which wins over AUTHENTIK_LOG_LEVEL).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort, pinned, until } from '../support.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Binds as the demo's service account, which may search the whole directory. */
export const OUTPOST_SEARCHER = { dn: 'cn=ldapservice,ou=users,dc=ldap,dc=goauthentik,dc=io', password: 'ldapservice-password' };

export interface Outpost {
  readonly port: number;
  readonly pid: number;
  /** The development core's process. */
  readonly corePid: number;
  /** What ended the core or the outpost before `stop` did (undefined: both ran throughout). */
  early(): string | undefined;
  stop(): Promise<void>;
}

const stopped = new WeakSet<ChildProcess>();

function stopChild(child: ChildProcess): Promise<void> {
  stopped.add(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  child.kill('SIGTERM');
  return once(child, 'exit').then(() => undefined);
}

/**
 * `workers`: AUTHENTIK_WORKERS (default 1). With more, `pid` is the primary: the generator's
 * CPU figures count its descendants, and `rssTreeMb` sums the workers' RSS.
 * `cpus`/`coreCpus`: `taskset -c` lists for the outpost and the core (undefined: unpinned).
 * The outpost refreshes from the core once an hour, so that no refresh of the cached
 * directory lands inside a measured run.
 */
export async function startOutpost(opts: { main: string; users: number; logLevel: string; cpus?: string | undefined; coreCpus?: string | undefined; workers?: number }): Promise<Outpost> {
  const corePort = await freePort();
  const [coreCmd, coreArgs] = pinned(opts.coreCpus, process.execPath, [`${ROOT}src/devcore/main.ts`]);
  const core = spawn(coreCmd, coreArgs, {
    env: { ...process.env, DEVCORE_SEED: `${ROOT}config/demo.yaml`, DEVCORE_LISTEN: `127.0.0.1:${corePort}`, DEMO_USERS: String(opts.users), DEVCORE_LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let early: string | undefined;
  /** Notes, and says on stderr, when `child` ends before `stopChild` ends it. */
  const watch = (child: ChildProcess, what: string) =>
    child.once('exit', (code, signal) => {
      if (stopped.has(child)) return;
      early ??= `${what} (pid ${child.pid}) exited early: ${signal ?? `code ${code}`}`;
      process.stderr.write(`bench: ${what} (pid ${child.pid}) exited early: ${signal ?? `code ${code}`}\n`);
    });
  watch(core, 'the development core');
  let outpost: ChildProcess | undefined;
  try {
    const coreUrl = `http://127.0.0.1:${corePort}`;
    await until('the development core', async () => (await fetch(`${coreUrl}/api/v3/root/config/`, { headers: { authorization: 'Bearer demo-ldap-token' } })).ok);
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${coreUrl}/_devcore/${path}`, {
        method: 'PATCH',
        headers: { authorization: 'Bearer devcore-admin', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`PATCH /_devcore/${path}: ${res.status} ${await res.text()}`);
    };
    await admin('providers/ldap-provider', { bind_mode: 'cached', search_mode: 'cached' });
    await admin('outposts/demo-ldap', { refresh_interval_s: 3600, config: { log_level: opts.logLevel } });

    const [ldapPort, ldapsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const [cmd, args] = pinned(opts.cpus, process.execPath, ['--max-semi-space-size=16', opts.main]);
    outpost = spawn(cmd, args, {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        AUTHENTIK_HOST: coreUrl,
        AUTHENTIK_TOKEN: 'demo-ldap-token',
        AUTHENTIK_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
        AUTHENTIK_LISTEN__LDAPS: `127.0.0.1:${ldapsPort}`,
        AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metricsPort}`,
        AUTHENTIK_LOG_LEVEL: opts.logLevel,
        // >1: a primary and that many worker processes sharing the LDAP socket (src/cluster/).
        AUTHENTIK_WORKERS: String(opts.workers ?? 1),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const started = outpost;
    watch(started, 'the outpost');
    await until('the outpost', async () => (await fetch(`http://127.0.0.1:${metricsPort}/outpost.goauthentik.io/ready`)).status === 204);
    return {
      port: ldapPort,
      pid: started.pid ?? 0,
      corePid: core.pid ?? 0,
      early: () => early,
      stop: async () => {
        await stopChild(started);
        await stopChild(core);
      },
    };
  } catch (err) {
    if (outpost) await stopChild(outpost);
    await stopChild(core);
    throw err;
  }
}
