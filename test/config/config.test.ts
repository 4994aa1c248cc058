import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, parseListenFromEnv, parseWorkers } from '../../src/config/index.ts';
import { parseDurationMs, parseListen, parseTokens } from '../../src/config/parse.ts';

const base = { AUTHENTIK_HOST: 'https://auth.example.com', AUTHENTIK_TOKEN: 'tok' };
const load = (env: NodeJS.ProcessEnv, files: string[] = []) => loadConfig({ env, files });

describe('config', () => {
  it('uses authentik defaults', () => {
    const c = load(base);
    assert.equal(c.host.origin, 'https://auth.example.com');
    assert.deepEqual(c.tokens, ['tok']);
    assert.equal(c.insecure, false);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.listen.http, { host: '0.0.0.0', port: 9000 });
    assert.deepEqual(c.listen.https, { host: '0.0.0.0', port: 9443 });
    assert.deepEqual(c.listen.ldap, { host: '0.0.0.0', port: 3389 });
    assert.deepEqual(c.listen.ldaps, { host: '0.0.0.0', port: 6636 });
    assert.deepEqual(c.listen.radius, { host: '0.0.0.0', port: 1812 });
    assert.deepEqual(c.listen.metrics, { host: '0.0.0.0', port: 9300 });
    // Unset: the outpost's refresh_interval_s from authentik decides (300 s on authentik 2024.4).
    assert.equal(c.timing.refreshIntervalMs, undefined);
    assert.equal(load({ ...base, AUTHENTIK_OUTPOST__REFRESH_INTERVAL: '90s' }).timing.refreshIntervalMs, 90_000);
  });

  it('points to the demo only where the demo is (the container image leaves it out)', async () => {
    // src as the image has it (.dockerignore): without the demo and the development core.
    const root = mkdtempSync(join(tmpdir(), 'cfg-image-'));
    const repo = new URL('../../', import.meta.url).pathname;
    cpSync(join(repo, 'src'), join(root, 'src'), { recursive: true, filter: (from) => !/\/src\/(?:demo|devcore)(?:\/|$)/.test(from) });
    cpSync(join(repo, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
    try {
      const imageLoader = (await import(pathToFileURL(join(root, 'src/config/index.ts')).href)) as { loadConfig: typeof loadConfig };
      assert.throws(() => imageLoader.loadConfig({ env: {}, files: [] }), (e: Error) => e.message === 'AUTHENTIK_HOST is not set. Set AUTHENTIK_HOST and AUTHENTIK_TOKEN to connect to authentik.');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('names the missing variable and points to the demo', () => {
    assert.throws(() => load({ AUTHENTIK_TOKEN: 'x' }), (e: Error) => e instanceof ConfigError && /AUTHENTIK_HOST is not set/.test(e.message) && /npm run demo/.test(e.message));
    assert.throws(() => load({ AUTHENTIK_HOST: 'http://a' }), /AUTHENTIK_TOKEN is not set/);
    assert.throws(() => load({ AUTHENTIK_HOST: '  ', AUTHENTIK_TOKEN: 'x' }), /AUTHENTIK_HOST is not set/);
  });

  it('rejects invalid values with the variable and the expected form', () => {
    assert.throws(() => load({ ...base, AUTHENTIK_HOST: 'auth.example.com' }), /AUTHENTIK_HOST: expected a URL/);
    assert.throws(() => load({ ...base, AUTHENTIK_HOST: 'ftp://a' }), /AUTHENTIK_HOST: expected an http/);
    assert.throws(() => load({ ...base, AUTHENTIK_INSECURE: 'maybe' }), /AUTHENTIK_INSECURE: expected true or false/);
    assert.throws(() => load({ ...base, AUTHENTIK_LISTEN__RADIUS: '1812' }), /AUTHENTIK_LISTEN__RADIUS: expected host:port/);
    assert.throws(() => load({ ...base, AUTHENTIK_LISTEN__HTTP: ':70000' }), /AUTHENTIK_LISTEN__HTTP: port 70000 is out of range/);
    assert.throws(() => load({ ...base, AUTHENTIK_OUTPOST__API_TIMEOUT: 'soon' }), /AUTHENTIK_OUTPOST__API_TIMEOUT: expected a duration/);
    assert.throws(() => load({ ...base, AUTHENTIK_TOKEN: 'a,,b' }), /AUTHENTIK_TOKEN: empty token/);
  });

  it('accepts true and 1 for AUTHENTIK_INSECURE (authentik only accepted "true" for HTTP)', () => {
    assert.equal(load({ ...base, AUTHENTIK_INSECURE: 'TRUE' }).insecure, true);
    assert.equal(load({ ...base, AUTHENTIK_INSECURE: '1' }).insecure, true);
    assert.equal(load({ ...base, AUTHENTIK_INSECURE: 'false' }).insecure, false);
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListen(':9443', 'X'), { host: '0.0.0.0', port: 9443 });
    assert.deepEqual(parseListen('127.0.0.1:0', 'X'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:1812', 'X'), { host: '::1', port: 1812 });
    assert.deepEqual(parseListen('[::]:1812', 'X'), { host: '::', port: 1812 });
    assert.throws(() => parseListen('[nothex]:1', 'X'), /X:/);
  });

  it('parses durations', () => {
    assert.equal(parseDurationMs('500ms', 'X'), 500);
    assert.equal(parseDurationMs('10s', 'X'), 10_000);
    assert.equal(parseDurationMs('1.5', 'X'), 1500);
    assert.equal(parseDurationMs('5m', 'X'), 300_000);
    assert.equal(parseDurationMs('1h', 'X'), 3_600_000);
    assert.equal(parseDurationMs('596h', 'X'), 596 * 3_600_000);
  });

  // Node.js fires a timer longer than 2^31-1 ms after 1 ms: such a refresh interval refreshed in
  // a tight loop, such an API timeout failed every call at once.
  it('refuses a duration longer than a timer can wait, naming the variable', () => {
    for (const [name, value] of [['AUTHENTIK_OUTPOST__REFRESH_INTERVAL', '1000h'], ['AUTHENTIK_OUTPOST__API_TIMEOUT', '99999999999999999999999s'], ['AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT', `1${'0'.repeat(400)}`], ['AUTHENTIK_LDAP__IDLE_TIMEOUT', '597h']] as const) {
      assert.throws(() => load({ ...base, [name]: value }), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${name}: at most 596h`), name);
    }
  });

  it('takes whole numbers in decimal digits only: empty, white space, hex and exponents are errors, not 0 or a surprise', () => {
    assert.equal(load({ ...base, AUTHENTIK_LDAP__SIZE_LIMIT: ' 25 ' }).ldap.sizeLimit, 25);
    for (const [name, value] of [['AUTHENTIK_LDAP__SIZE_LIMIT', ''], ['AUTHENTIK_LDAP__SIZE_LIMIT', '  '], ['AUTHENTIK_LDAP__MAX_PDU_SIZE', '0x100000'], ['AUTHENTIK_RADIUS__MAX_CONCURRENT', '1e3'], ['AUTHENTIK_PROXY__MAX_SESSIONS', '1e300'], ['AUTHENTIK_LDAP__SIZE_LIMIT', '-0'], ['AUTHENTIK_PROXY__MAX_SESSIONS', '99999999999999999999']] as const) {
      assert.throws(() => load({ ...base, [name]: value }), (e: Error) => e instanceof ConfigError && e.message.startsWith(`${name}: expected a whole number`), `${name}=${JSON.stringify(value)}`);
    }
  });

  it('takes several comma-separated tokens, one outpost each', () => {
    assert.deepEqual(load({ ...base, AUTHENTIK_TOKEN: 'a, b ,c' }).tokens, ['a', 'b', 'c']);
    assert.throws(() => parseTokens('a,a', 'T'), /listed twice/);
  });

  it('refuses a token with white space or a control character inside, without showing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'token');
    // A secret file of two lines: trimmed at its ends, the line break inside stays.
    writeFileSync(file, 'secret-line-one\nsecret-line-two\n');
    for (const value of [`file://${file}`, 'secret-one secret-two', 'secret\u0000x', 'ok,secret\ttab']) {
      assert.throws(() => load({ ...base, AUTHENTIK_TOKEN: value }), (e: Error) => e instanceof ConfigError && /^AUTHENTIK_TOKEN: a token contains white space or a control character/.test(e.message) && !e.message.includes('secret'), JSON.stringify(value));
    }
  });

  it('resolves env:// and file:// values, with fallbacks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'token');
    writeFileSync(file, '  secret-from-file\n');
    assert.deepEqual(load({ ...base, AUTHENTIK_TOKEN: `file://${file}` }).tokens, ['secret-from-file']);
    assert.deepEqual(load({ ...base, AUTHENTIK_TOKEN: 'env://OTHER', OTHER: 'from-env' }).tokens, ['from-env']);
    assert.deepEqual(load({ ...base, AUTHENTIK_TOKEN: 'env://UNSET?fallback' }).tokens, ['fallback']);
    assert.deepEqual(load({ ...base, AUTHENTIK_TOKEN: `file://${dir}/missing?fb` }).tokens, ['fb']);
    assert.throws(() => load({ ...base, AUTHENTIK_TOKEN: `file://${dir}/missing` }), (e: Error) => /AUTHENTIK_TOKEN: cannot read .*missing \(ENOENT\)/.test(e.message) && !e.message.includes('secret'));
    assert.throws(() => load({ ...base, AUTHENTIK_TOKEN: 'env://UNSET' }), /AUTHENTIK_TOKEN: env:\/\/UNSET refers to an unset variable/);
  });

  it('reads a YAML file; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, 'host: https://yaml.example.com\ntoken: from-yaml\nlog_level: debug\nlisten:\n  ldap: 127.0.0.1:1389\noutpost:\n  api_timeout: 3s\n');
    const fromYaml = load({}, [file]);
    assert.equal(fromYaml.host.origin, 'https://yaml.example.com');
    assert.deepEqual(fromYaml.tokens, ['from-yaml']);
    assert.equal(fromYaml.logLevel, 'debug');
    assert.deepEqual(fromYaml.listen.ldap, { host: '127.0.0.1', port: 1389 });
    assert.equal(fromYaml.timing.apiTimeoutMs, 3000);
    const envWins = load({ AUTHENTIK_TOKEN: 'from-env', AUTHENTIK_LISTEN__LDAP: ':2389' }, [file]);
    assert.deepEqual(envWins.tokens, ['from-env']);
    assert.deepEqual(envWins.listen.ldap, { host: '0.0.0.0', port: 2389 });
    assert.equal(envWins.host.origin, 'https://yaml.example.com');
  });

  it('reports a bad YAML file by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'listen: [1, 2\n');
    assert.throws(() => load(base, [bad]), (e: Error) => e.message.startsWith(`${bad}: not valid YAML`));
    const wrong = join(dir, 'wrong.yml');
    writeFileSync(wrong, 'listen: 5\n');
    assert.throws(() => load(base, [wrong]), (e: Error) => e.message.startsWith(`${wrong}: listen`));
    assert.throws(() => load({ ...base, AUTHENTIK_CONFIG_FILE: join(dir, 'nope.yml') }), /AUTHENTIK_CONFIG_FILE: .* does not exist/);
  });

  it('finds the metrics address for the healthcheck from the environment alone', () => {
    assert.deepEqual(parseListenFromEnv('metrics', {}), { host: '0.0.0.0', port: 9300 });
    assert.deepEqual(parseListenFromEnv('metrics', { AUTHENTIK_LISTEN__METRICS: '127.0.0.1:19300' }), { host: '127.0.0.1', port: 19300 });
  });
});

describe('worker processes (AUTHENTIK_WORKERS)', () => {
  it('default to 1: one process, no cluster', () => {
    assert.deepEqual(load(base).workers, { count: 1, auto: false });
  });

  it('take a whole number, or auto for one per core', () => {
    assert.deepEqual(load({ ...base, AUTHENTIK_WORKERS: '4' }).workers, { count: 4, auto: false });
    assert.deepEqual(load({ ...base, AUTHENTIK_WORKERS: ' 2 ' }).workers, { count: 2, auto: false });
    assert.deepEqual(parseWorkers('auto', 'AUTHENTIK_WORKERS', 8), { count: 8, auto: true });
    assert.deepEqual(parseWorkers('AUTO', 'AUTHENTIK_WORKERS', 1), { count: 1, auto: true });
    assert.equal(load({ ...base, AUTHENTIK_WORKERS: 'auto' }).workers.auto, true);
  });

  it('reject anything else, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', 'two', '', '2x', '1e3']) {
      assert.throws(
        () => load({ ...base, AUTHENTIK_WORKERS: bad }),
        (e: Error) => e instanceof ConfigError && e.message === `AUTHENTIK_WORKERS: expected a whole number of at least 1, or auto (one per core), got "${bad}"`,
        bad,
      );
    }
  });

  it('are read from the workers key of a YAML file; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-workers-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, 'workers: 3\n');
    try {
      assert.equal(load(base, [file]).workers.count, 3);
      assert.equal(load({ ...base, AUTHENTIK_WORKERS: '2' }, [file]).workers.count, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('config/outpost.example.yml', () => {
  it('is a valid configuration file', () => {
    const file = new URL('../../config/outpost.example.yml', import.meta.url).pathname;
    const warnings: string[] = [];
    const c = loadConfig({ env: { AUTHENTIK_TOKEN: 'from-env' }, files: [file], onWarning: (event) => warnings.push(event) });
    assert.equal(c.host.origin, 'https://authentik.example.com');
    assert.equal(c.timing.flowTimeoutMs, 30_000);
    assert.deepEqual(warnings, [], 'every key of the example is known');
    // Copying the example must not pin the refresh interval over authentik's refresh_interval_s.
    assert.equal(c.timing.refreshIntervalMs, undefined);
    assert.equal(c.ldap.bindCacheOutageGraceMs, 3_600_000);
    assert.equal(c.radius.requireMessageAuthenticator.default, 'auto');
  });
});

describe('LDAP and proxy-protocol options', () => {
  it('defaults to authentik behaviour', () => {
    const c = load(base);
    assert.deepEqual(c.trustedProxyCidrs, []);
    assert.equal(c.ldap.requireTls, false);
    assert.equal(c.ldap.bindCacheTtlMs, 300_000);
    assert.equal(c.ldap.nestedGroups, false);
    assert.equal(c.ldap.sizeLimit, 0);
    assert.equal(c.ldap.bindCacheOutageGraceMs, 3_600_000);
    assert.equal(load({ ...base, AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE: '0' }).ldap.bindCacheOutageGraceMs, 0);
    assert.equal(load({ ...base, AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE: '10m' }).ldap.bindCacheOutageGraceMs, 600_000);
    assert.throws(() => load({ ...base, AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE: 'forever' }), /AUTHENTIK_LDAP__BIND_CACHE_OUTAGE_GRACE: expected a duration/);
  });
  it('reads and validates them', () => {
    const c = load({ ...base, AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: '10.0.0.0/8, fd00::/8,192.0.2.1', AUTHENTIK_LDAP__REQUIRE_TLS: 'true', AUTHENTIK_LDAP__BIND_CACHE_TTL: '30s', AUTHENTIK_LDAP__MAX_CONNECTIONS_PER_CLIENT: '5' });
    assert.deepEqual(c.trustedProxyCidrs, ['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    assert.equal(c.ldap.requireTls, true);
    assert.equal(c.ldap.bindCacheTtlMs, 30_000);
    assert.equal(c.ldap.maxConnectionsPerClient, 5);
    assert.throws(() => load({ ...base, AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: '10.0.0.0/33' }), /AUTHENTIK_LISTEN__TRUSTED_PROXY_CIDRS: "10.0.0.0\/33" is not an address or CIDR range/);
    assert.throws(() => load({ ...base, AUTHENTIK_LDAP__MAX_CONNECTIONS_PER_CLIENT: '0' }), /AUTHENTIK_LDAP__MAX_CONNECTIONS_PER_CLIENT: expected a whole number of at least 1/);
  });
});

describe('RADIUS options', () => {
  it('default to auto / auto, 64 concurrent authentications and a 15 s deadline', () => {
    const c = load(base);
    assert.deepEqual(c.radius, { requireMessageAuthenticator: { default: 'auto', byProvider: {} }, limitProxyState: 'auto', maxConcurrent: 64, requestTimeoutMs: 15_000 });
  });

  it('read require_message_authenticator as yes|no|auto with per-provider overrides', () => {
    const req = (v: string) => load({ ...base, AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: v }).radius.requireMessageAuthenticator;
    assert.deepEqual(req('yes'), { default: 'yes', byProvider: {} });
    assert.deepEqual(req('No'), { default: 'no', byProvider: {} });
    assert.deepEqual(req(' auto '), { default: 'auto', byProvider: {} });
    assert.deepEqual(req('true'), { default: 'yes', byProvider: {} });
    assert.deepEqual(req('0'), { default: 'no', byProvider: {} });
    assert.deepEqual(req('auto,vpn-provider=yes'), { default: 'auto', byProvider: { 'vpn-provider': 'yes' } });
    assert.deepEqual(req('no, Legacy Switches = auto ,vpn=yes'), { default: 'no', byProvider: { 'Legacy Switches': 'auto', vpn: 'yes' } });
    assert.deepEqual(req('vpn=yes'), { default: 'auto', byProvider: { vpn: 'yes' } }, 'the default stays auto when only overrides are given');
  });

  it('reject bad policy values, naming the variable (and the provider)', () => {
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'maybe' }), /AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: expected yes, no or auto, got "maybe"/);
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'auto,vpn=sometimes' }), /AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR \(vpn\): expected yes, no or auto/);
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: 'auto,=yes' }), /AUTHENTIK_RADIUS__REQUIRE_MESSAGE_AUTHENTICATOR: a provider name is missing before "=yes"/);
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'vpn=yes' }), /AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: expected yes, no or auto/);
  });

  it('read limit_proxy_state, max_concurrent and request_timeout', () => {
    const c = load({ ...base, AUTHENTIK_RADIUS__LIMIT_PROXY_STATE: 'yes', AUTHENTIK_RADIUS__MAX_CONCURRENT: '2', AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '500ms' });
    assert.equal(c.radius.limitProxyState, 'yes');
    assert.equal(c.radius.maxConcurrent, 2);
    assert.equal(c.radius.requestTimeoutMs, 500);
    assert.equal(load({ ...base, AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '30' }).radius.requestTimeoutMs, 30_000, 'a bare number is seconds');
  });

  it('reject a concurrency below 1 and a deadline of zero', () => {
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__MAX_CONCURRENT: '0' }), /AUTHENTIK_RADIUS__MAX_CONCURRENT: expected a whole number of at least 1, got "0"/);
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__MAX_CONCURRENT: '2.5' }), /AUTHENTIK_RADIUS__MAX_CONCURRENT: expected a whole number/);
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__REQUEST_TIMEOUT: 'soon' }), /AUTHENTIK_RADIUS__REQUEST_TIMEOUT: expected a duration/);
    // A zero deadline would drop every request unanswered.
    assert.throws(() => load({ ...base, AUTHENTIK_RADIUS__REQUEST_TIMEOUT: '0s' }), /AUTHENTIK_RADIUS__REQUEST_TIMEOUT: must be greater than 0/);
  });

  it('are read from the radius section of a YAML file; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, 'host: https://yaml.example.com\ntoken: t\nradius:\n  require_message_authenticator: "auto, vpn=yes"\n  limit_proxy_state: true\n  max_concurrent: 8\n  request_timeout: 20s\n');
    const c = load({}, [file]);
    assert.deepEqual(c.radius, { requireMessageAuthenticator: { default: 'auto', byProvider: { vpn: 'yes' } }, limitProxyState: 'yes', maxConcurrent: 8, requestTimeoutMs: 20_000 });
    assert.equal(load({ AUTHENTIK_RADIUS__MAX_CONCURRENT: '3' }, [file]).radius.maxConcurrent, 3);
  });
});

describe('unknown keys in a YAML file', () => {
  const collect = (env: NodeJS.ProcessEnv, files: string[]) => {
    const warnings: { event: string; fields: Record<string, string> }[] = [];
    const config = loadConfig({ env, files, onWarning: (event, fields) => warnings.push({ event, fields }) });
    return { config, warnings };
  };

  it('are named in one warning each, with the file; the keys next to them still apply', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, ['host: https://yaml.example.com', 'token: t', 'log_levle: debug', 'listen:', '  ldap: 127.0.0.1:1389', '  ldap_port: 1389', 'ldap:', '  requre_tls: true', '  nested_groups: true', 'outposts:', '  cookie_domain: example.com', '  mode: forward', ''].join('\n'));
    const { config, warnings } = collect({}, [file]);
    assert.deepEqual(warnings.map((w) => w.fields), [
      { file, key: 'log_levle' },
      { file, key: 'listen.ldap_port' },
      { file, key: 'ldap.requre_tls' },
      // An unknown section is one warning, not one per key inside it.
      { file, key: 'outposts' },
    ]);
    assert.ok(warnings.every((w) => w.event === 'unknown key in the configuration file; ignored'));
    assert.deepEqual(config.listen.ldap, { host: '127.0.0.1', port: 1389 });
    assert.equal(config.ldap.nestedGroups, true);
    assert.equal(config.ldap.requireTls, false, 'the misspelt key changes nothing');
  });

  it('are warned about once when the same file is named twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, 'host: https://yaml.example.com\ntoken: t\ntimeout: 5s\n');
    const { warnings } = collect({ AUTHENTIK_CONFIG_FILE: file }, [file]);
    assert.deepEqual(warnings.map((w) => w.fields['key']), ['timeout']);
  });

  it('leave known keys of every section unwarned', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, [
      'host: https://yaml.example.com', 'token: t', 'insecure: false', 'host_browser: ""', 'log_level: info',
      'listen: { http: ":9000", https: ":9443", ldap: ":3389", ldaps: ":6636", radius: ":1812", metrics: ":9300", trusted_proxy_cidrs: "10.0.0.0/8" }',
      'outpost: { api_timeout: 10s, flow_timeout: 30s, refresh_interval: 5m, reload_offset_max: 9s, shutdown_timeout: 10s }',
      'ldap: { require_tls: false, bind_cache_ttl: 5m, nested_groups: false, max_connections_per_client: 100, idle_timeout: 5m, max_pdu_size: 2097152, size_limit: 0 }',
      'radius: { require_message_authenticator: auto, limit_proxy_state: auto, max_concurrent: 64, request_timeout: 15s }',
      '',
    ].join('\n'));
    assert.deepEqual(collect({}, [file]).warnings, []);
    const example = new URL('../../config/outpost.example.yml', import.meta.url).pathname;
    assert.deepEqual(collect({ AUTHENTIK_TOKEN: 't' }, [example]).warnings, []);
  });

  it('are not looked for in the environment, where authentik\'s other variables live too', () => {
    assert.deepEqual(collect({ ...base, AUTHENTIK_POSTGRESQL__HOST: 'db', AUTHENTIK_LDAP__REQURE_TLS: 'true' }, []).warnings, []);
  });
});

describe('proxy session store', () => {
  const collect = (env: NodeJS.ProcessEnv, files: string[] = []) => {
    const warnings: { event: string; fields: Record<string, string> }[] = [];
    const config = loadConfig({ env: { ...base, ...env }, files, onWarning: (event, fields) => warnings.push({ event, fields }) });
    return { config, warnings };
  };

  it('defaults to the memory backend, with no URL needed', () => {
    assert.deepEqual(load(base).proxy.sessionStore, { backend: 'memory' });
    assert.deepEqual(load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: ' Memory ' }).proxy.sessionStore, { backend: 'memory' });
  });

  it('takes postgres and redis with their URL and a 2 s operation timeout by default', () => {
    assert.deepEqual(load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'postgres', AUTHENTIK_PROXY__POSTGRES_URL: 'postgres://u:p@db:5432/outpost?sslmode=require' }).proxy.sessionStore, {
      backend: 'postgres',
      url: 'postgres://u:p@db:5432/outpost?sslmode=require',
      timeoutMs: 2000,
    });
    assert.equal(load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'postgres', AUTHENTIK_PROXY__POSTGRES_URL: 'postgresql://db/outpost' }).proxy.sessionStore.backend, 'postgres');
    assert.deepEqual(load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__REDIS_URL: 'rediss://:pw@cache:6380/2', AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT: '500ms' }).proxy.sessionStore, {
      backend: 'redis',
      url: 'rediss://:pw@cache:6380/2',
      timeoutMs: 500,
    });
  });

  it('reads the URL through file:// and env:// like any secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'pg-url');
    writeFileSync(file, 'postgres://outpost:s3cret@db/outpost\n');
    const fromFile = load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'postgres', AUTHENTIK_PROXY__POSTGRES_URL: `file://${file}` }).proxy.sessionStore;
    assert.ok(fromFile.backend === 'postgres' && fromFile.url === 'postgres://outpost:s3cret@db/outpost');
    const fromEnv = load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__REDIS_URL: 'env://REDIS_SECRET_URL', REDIS_SECRET_URL: 'redis://:pw@cache/0' }).proxy.sessionStore;
    assert.ok(fromEnv.backend === 'redis' && fromEnv.url === 'redis://:pw@cache/0');
  });

  it('is read from the proxy section of a YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'outpost.yml');
    writeFileSync(file, 'proxy:\n  session_backend: redis\n  redis_url: redis://cache:6379/0\n  session_store_timeout: 1s\n');
    const { config, warnings } = collect({}, [file]);
    assert.deepEqual(config.proxy.sessionStore, { backend: 'redis', url: 'redis://cache:6379/0', timeoutMs: 1000 });
    assert.deepEqual(warnings, []);
  });

  it('names the missing URL variable when the backend needs it', () => {
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'postgres' }), (e: Error) => e instanceof ConfigError && /^AUTHENTIK_PROXY__POSTGRES_URL is not set; AUTHENTIK_PROXY__SESSION_BACKEND=postgres needs it/.test(e.message));
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__REDIS_URL: '  ' }), /AUTHENTIK_PROXY__REDIS_URL is not set/);
    // The other backend's URL does not count.
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__POSTGRES_URL: 'postgres://db/x' }), /AUTHENTIK_PROXY__REDIS_URL is not set/);
  });

  it('rejects an unknown backend, a URL of the wrong scheme without echoing it, and a tiny timeout', () => {
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'mysql' }), /AUTHENTIK_PROXY__SESSION_BACKEND: expected memory, postgres or redis, got "mysql"/);
    assert.throws(
      () => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'postgres', AUTHENTIK_PROXY__POSTGRES_URL: 'mysql://root:hunter2@db/x' }),
      (e: Error) => /AUTHENTIK_PROXY__POSTGRES_URL: expected a postgres:\/\/… or postgresql:\/\/… URL/.test(e.message) && !e.message.includes('hunter2'),
    );
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__REDIS_URL: 'cache:6379' }), /AUTHENTIK_PROXY__REDIS_URL: expected a redis:\/\/… or rediss:\/\/… URL/);
    assert.throws(() => load({ ...base, AUTHENTIK_PROXY__SESSION_BACKEND: 'redis', AUTHENTIK_PROXY__REDIS_URL: 'redis://c', AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT: '0' }), /AUTHENTIK_PROXY__SESSION_STORE_TIMEOUT: must be at least 10ms/);
  });

  it('warns once about a store URL the chosen backend does not use', () => {
    const { config, warnings } = collect({ AUTHENTIK_PROXY__POSTGRES_URL: 'postgres://db/x' });
    assert.deepEqual(config.proxy.sessionStore, { backend: 'memory' });
    assert.deepEqual(warnings, [{ event: 'a session store URL is set for a backend that is not in use; ignored', fields: { variable: 'AUTHENTIK_PROXY__POSTGRES_URL', backend: 'memory' } }]);
  });
});
