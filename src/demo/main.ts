// `npm run demo`: the development core, a small upstream web app and the outpost for every
// demo outpost, on the default ports, on one machine with nothing else installed.
// Env: DEMO_AUTHENTIK_VERSION (2026.8, the default, or 2024.4: the API the core speaks),
// DEMO_USERS, DEMO_LDAP_MODE (direct or cached), AUTHENTIK_LOG_LEVEL.
// First, so that a Node.js below package.json's engines stops with a message before the rest runs.
import '../node-check.mjs';
import { loadConfig, ConfigError, formatListen } from '../config/index.ts';
import { AUTHENTIK_VERSIONS, SERVER_VERSION, startDevCore, type AuthentikVersion } from '../devcore/index.ts';
import { loadSeedFile } from '../devcore/seed.ts';
import { PLUGINS } from '../listeners.ts';
import { createRootLogger, named } from '../log.ts';
import { Runtime } from '../runtime.ts';
import { installSignalHandlers } from '../signals.ts';
import { closeServer } from '../agent/net.ts';
import { startUpstream } from './upstream.ts';

const SEED = new URL('../../config/demo.yaml', import.meta.url).pathname;
const CORE = { host: '127.0.0.1', port: 9900 };
const UPSTREAM = { host: '127.0.0.1', port: 9901 };

/** What to try against each listener of the demo, by outpost type (the proxy's come from its providers: proxyHints). */
const TRY: Record<string, (listen: string) => string[]> = {
  ldap: (l) => [
    `ldapsearch -x -H ldap://${l} -D 'cn=akadmin,ou=users,dc=ldap,dc=goauthentik,dc=io' -w akadmin -b 'dc=ldap,dc=goauthentik,dc=io' '(objectClass=user)' cn mail`,
    `ldapwhoami -x -H ldap://${l} -D 'cn=alice,ou=users,dc=ldap,dc=goauthentik,dc=io' -w alice-password`,
  ],
  radius: (l) => [`echo 'User-Name=alice,User-Password=alice-password' | radclient -x ${l} auth demo-radius-secret`],
};

/** What to open for each proxy provider of an outpost: an app in proxy mode directly, a forward-auth one through nginx or Caddy. */
function proxyHints(providers: readonly { name: string; type: string; external_host?: string; mode?: string }[], names: readonly string[]): string[] {
  const lines: string[] = [];
  for (const p of providers) {
    if (p.type !== 'proxy' || !names.includes(p.name) || !p.external_host) continue;
    const origin = p.external_host.replace(/\/+$/, '');
    if (p.mode === 'proxy') {
      lines.push(`open ${origin}/ in a browser, log in as alice/alice-password (sign out: ${origin}/outpost.goauthentik.io/sign_out)`, `curl -si ${origin}/   # 302 to the login`);
    } else {
      lines.push(`${origin}/ (${p.mode}): through nginx or Caddy in front of the outpost, config/examples/ (README: "Forward auth behind nginx or Caddy")`);
    }
  }
  return lines;
}
const LISTEN_OF: Record<string, 'ldap' | 'radius' | 'http'> = { ldap: 'ldap', radius: 'radius', proxy: 'http' };

async function main(): Promise<void> {
  const logger = createRootLogger({ level: process.env['AUTHENTIK_LOG_LEVEL'] ?? 'info' });
  const log = named(logger, 'demo');
  const extraUsers = Number(process.env['DEMO_USERS'] ?? 0);
  if (!Number.isInteger(extraUsers) || extraUsers < 0) throw new ConfigError(`DEMO_USERS: expected a whole number, got "${process.env['DEMO_USERS']}"`);

  const ldapMode = process.env['DEMO_LDAP_MODE'] ?? 'direct';
  if (ldapMode !== 'direct' && ldapMode !== 'cached') throw new ConfigError(`DEMO_LDAP_MODE: expected direct or cached, got "${ldapMode}"`);

  // The API the demo core speaks: today's authentik unless asked for the older generation.
  const version = process.env['DEMO_AUTHENTIK_VERSION'] || '2026.8';
  if (!(AUTHENTIK_VERSIONS as readonly string[]).includes(version)) throw new ConfigError(`DEMO_AUTHENTIK_VERSION: expected ${AUTHENTIK_VERSIONS.join(' or ')}, got "${version}"`);
  const authentikVersion = version as AuthentikVersion;

  const coreLogger = named(logger, 'devcore');
  coreLogger.level = 'warn';
  const seed = loadSeedFile(SEED);
  const core = await startDevCore({ seed: SEED, ...CORE, extraUsers, logger: coreLogger, authentikVersion });
  const upstream = await startUpstream(UPSTREAM);
  // The demo LDAP provider binds and searches in `direct` mode unless asked otherwise.
  core.admin.updateProvider('ldap-provider', { bind_mode: ldapMode, search_mode: ldapMode });
  const outposts = core.admin.outposts();

  const config = loadConfig({
    files: [],
    env: { ...process.env, AUTHENTIK_HOST: core.url, AUTHENTIK_TOKEN: outposts.map((o) => o.token).join(',') },
  });
  const runtime = new Runtime({ config, plugins: PLUGINS, logger });
  installSignalHandlers(runtime, logger, async () => {
    await closeServer(upstream);
    await core.close();
  });
  await runtime.start();

  const served = new Set(PLUGINS.map((p) => p.type));
  const other = authentikVersion === '2026.8' ? 'DEMO_AUTHENTIK_VERSION=2024.4 for the 2024.4 API' : 'unset DEMO_AUTHENTIK_VERSION for the 2026.8 API';
  const searchers = authentikVersion === '2026.8' ? 'akadmin (superuser) and ldapservice (search_full_directory on ldap-provider)' : 'members of authentik Admins (search_group)';
  const lines = [
    '',
    'authentik outpost demo',
    `  authentik API      ${authentikVersion} (the core claims ${SERVER_VERSION[authentikVersion]}; ${other})`,
    `  development core   ${core.url}  (admin API: curl -H 'Authorization: Bearer devcore-admin' ${core.url}/_devcore/)`,
    `  upstream web app   http://${UPSTREAM.host}:${UPSTREAM.port}`,
    `  metrics            curl -s localhost:${runtime.metricsPort}/metrics | grep ^authentik_outpost`,
    `  users              akadmin/akadmin, alice/alice-password, bob/bob-password (TOTP JBSWY3DPEHPK3PXP), carol (inactive), ldapservice/ldapservice-password${extraUsers ? `, user1..user${extraUsers}/bench-pass` : ''}`,
    `  LDAP search        the whole directory for ${searchers}; others see themselves`,
    ...(authentikVersion === '2026.8' ? ['  RADIUS replies     members of vpn get VLAN 42 (Tunnel-Type, Tunnel-Medium-Type, Tunnel-Private-Group-Id)'] : []),
    '',
  ];
  for (const o of outposts) {
    if (!served.has(o.type as never)) {
      lines.push(`  ${o.name} (${o.type}): not in this build yet`);
      continue;
    }
    const listen = formatListen(config.listen[LISTEN_OF[o.type] ?? 'http']).replace(/^0\.0\.0\.0:/, '127.0.0.1:');
    const hints = o.type === 'proxy' ? proxyHints(seed.providers, o.providers) : (TRY[o.type]?.(listen) ?? []);
    lines.push(`  ${o.name} (${o.type}) on ${listen}; try:`, ...hints.map((c) => `    ${c}`));
  }
  lines.push('', 'Ctrl-C stops the demo.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
  log.info({ core: core.url, authentik_version: authentikVersion, outposts: outposts.length, users: extraUsers, ldap_mode: ldapMode }, 'demo running');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(1);
});
