// End-to-end support for the whole RADIUS outpost: the development core (in either API
// generation), a real outpost runtime with the RADIUS listener on port 0, FreeRADIUS's
// radclient, a raw UDP client using our codec, metrics scraping, the core's admin API.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ListenerPlugin } from '../../../src/agent/listener.ts';
import { startDevCore, type DevCore, type RecordedRequest, type SeedDocument } from '../../../src/devcore/index.ts';
import { radiusPlugin, type RadiusListener } from '../../../src/radius/listener.ts';
import { AttributeType, RadiusCode, decodePacket, encodeRequest, textAttribute, userPasswordAttribute, verifyResponse, type RadiusPacket, type RawAttribute } from '../../../src/radius/protocol/index.ts';
import { AUTHENTIK_VERSIONS, TEST_SEED, startOutpost, testConfig, type AuthentikVersion, type TestOutpost } from '../../support/outpost.ts';

export { AUTHENTIK_VERSIONS, type AuthentikVersion };

export const SECRET = 'test-radius-secret';
export const OUTPOST_TOKEN = 'test-radius-token';
export const OUTPOST_NAME = 'test-radius';
export const PROVIDER = 'test-radius-provider';
export const APP = 'test-radius-app';
/** The provider's pk in the test seed (the 2024.8+ access check names it). */
export const PROVIDER_PK = 2;
export const BOB_TOTP_SECRET = 'JBSWY3DPEHPK3PXP';
export const IVAN_TOTP_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
export const PASSWORDS = {
  alice: 'alice-password',
  bob: 'bob-password',
  carol: 'carol-password',
  dave: 'dave-password',
  erin: 'erin-password',
  ivan: 'ivan-password',
} as const;

export interface RadiusOutpost {
  readonly core: DevCore;
  /** The API generation the core speaks. */
  readonly authentikVersion: AuthentikVersion;
  /** The access check the outpost calls after the flow: the application's (2024.4) or the provider's (2024.8+). */
  readonly checkAccessPath: string;
  readonly outpost: TestOutpost;
  readonly listener: RadiusListener;
  /** The address the listener is bound to (radclient and the UDP clients send there). */
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:PORT` or `[::1]:PORT`, as radclient takes it. */
  readonly target: string;
  readonly metricsUrl: string;
  /** Refresh every agent now (picks up provider changes) and fail if a refresh failed. */
  refresh(): Promise<void>;
  /** One sample of the outpost's metrics (see `metricValue`). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** The access check path the outpost calls after a passed flow, per generation. */
export function checkAccessPath(authentikVersion: AuthentikVersion): string {
  return authentikVersion === '2024.4' ? `/api/v3/core/applications/${APP}/check_access/` : `/api/v3/outposts/radius/${PROVIDER_PK}/check_access/`;
}

/**
 * A development core and an outpost serving `test-radius` (port 0). `listen` defaults to
 * 127.0.0.1:0; `authentikVersion` to the core's default (2026.8); `beforeStart` runs against
 * the core before the outpost starts.
 */
export async function startRadiusOutpost(
  opts: { env?: NodeJS.ProcessEnv; listen?: string; sendTo?: string; seed?: SeedDocument; authentikVersion?: AuthentikVersion; beforeStart?: (core: DevCore) => void | Promise<void> } = {},
): Promise<RadiusOutpost> {
  const authentikVersion = opts.authentikVersion ?? '2026.8';
  const core = await startDevCore({ seed: opts.seed ?? TEST_SEED, port: 0, authentikVersion });
  try {
    await opts.beforeStart?.(core);
  } catch (err) {
    await core.close();
    throw err;
  }
  const listen = opts.listen ?? '127.0.0.1:0';
  const config = testConfig(core.url, [OUTPOST_TOKEN], { AUTHENTIK_LISTEN__RADIUS: listen, ...opts.env });
  let outpost: TestOutpost;
  try {
    outpost = await startOutpost(config, [radiusPlugin as ListenerPlugin]);
  } catch (err) {
    await core.close();
    throw err;
  }
  const listener = outpost.runtime.listener('radius') as RadiusListener | undefined;
  assert.ok(listener, 'the runtime created a RADIUS listener');
  const port = listener.port;
  assert.ok(port > 0, 'the RADIUS listener is bound');
  const host = opts.sendTo ?? config.listen.radius.host;
  const target = isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return {
    core,
    authentikVersion,
    checkAccessPath: checkAccessPath(authentikVersion),
    outpost,
    listener,
    host,
    port,
    target,
    get metricsUrl() {
      return outpost.metricsUrl;
    },
    async refresh() {
      const results = await outpost.runtime.refreshAll('test');
      assert.ok(results.every(Boolean), 'the refresh succeeded');
    },
    async metric(name, labels = {}) {
      return metricValue(await metricsText(outpost.metricsUrl), name, labels);
    },
    async stop() {
      await outpost.runtime.shutdown();
      await core.close();
    },
  };
}

// ---------------------------------------------------------------------------------------
// radclient (FreeRADIUS). Missing radclient fails the test: CI installs it.

export interface RadclientResult {
  /** Whether a reply was received (radclient printed "Received ..."). */
  readonly replied: boolean;
  /** "Access-Accept", "Access-Reject", ... */
  readonly code: string | undefined;
  readonly length: number | undefined;
  /** The reply's attributes as radclient prints them, in order. */
  readonly attributes: readonly (readonly [string, string])[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RadclientOptions {
  /** Expect no reply: one try, 2 s (`-r 1 -t 2`). Otherwise 3 tries of 2 s. */
  noReply?: boolean;
  /** Extra arguments before the server (e.g. `-6`). */
  args?: readonly string[];
}

/**
 * `echo "<pairs>" | radclient -x [...] <target> <command> <secret>`. `pairs` is radclient's
 * input: `User-Name=alice,User-Password=...` (several packets separated by blank lines).
 */
export function radclient(target: string, command: 'auth' | 'acct' | 'status', secret: string, pairs: string, opts: RadclientOptions = {}): Promise<RadclientResult> {
  const args = ['-x', ...(opts.noReply ? ['-r', '1', '-t', '2'] : ['-r', '3', '-t', '2']), ...(opts.args ?? []), target, command, secret];
  return new Promise((resolve, reject) => {
    const child = spawn('radclient', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => reject(new Error(`cannot run radclient (install freeradius-utils): ${err.message}`)));
    child.once('close', (exitCode) => resolve(parseRadclient(stdout, stderr, exitCode)));
    child.stdin.end(`${pairs}\n`);
  });
}

function parseRadclient(stdout: string, stderr: string, exitCode: number | null): RadclientResult {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Received '));
  if (at === -1) return { replied: false, code: undefined, length: undefined, attributes: [], exitCode, stdout, stderr };
  const m = /^Received (\S+) Id \d+ from .* length (\d+)/.exec(lines[at]!);
  const attributes: [string, string][] = [];
  for (const line of lines.slice(at + 1)) {
    const a = /^\t(\S+) = (.*)$/.exec(line);
    if (!a) break;
    attributes.push([a[1]!, a[2]!]);
  }
  return { replied: true, code: m?.[1], length: m ? Number(m[2]) : undefined, attributes, exitCode, stdout, stderr };
}

/** Asserts radclient got `code` and that Message-Authenticator is the reply's first attribute. */
export function assertReply(r: RadclientResult, code: 'Access-Accept' | 'Access-Reject'): void {
  assert.ok(r.replied, `expected ${code}, got no reply:\n${r.stdout}${r.stderr}`);
  assert.equal(r.code, code, r.stdout + r.stderr);
  assert.equal(r.attributes[0]?.[0], 'Message-Authenticator', `Message-Authenticator first in every reply (authentik sends none): ${r.stdout}`);
  assert.ok(!/BlastRADIUS|Message-Authenticator.*(invalid|missing)/i.test(r.stdout + r.stderr), `radclient complained: ${r.stdout}${r.stderr}`);
}

export function assertNoReply(r: RadclientResult): void {
  assert.equal(r.replied, false, `expected no reply, got:\n${r.stdout}`);
  assert.match(r.stdout + r.stderr, /No reply from server/, 'radclient waited and timed out (it did not fail for another reason)');
}

// ---------------------------------------------------------------------------------------
// A raw UDP client with our codec (byte-level checks, duplicates, floods).

export class UdpClient {
  readonly socket: Socket;
  private readonly queue: Buffer[] = [];
  private waiters: ((b: Buffer) => void)[] = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('message', (msg) => {
      const w = this.waiters.shift();
      if (w) w(msg);
      else this.queue.push(msg);
    });
  }

  /** A socket bound to `bindAddress` (default 127.0.0.1; `::1` for IPv6) on an ephemeral port. */
  static async open(bindAddress = '127.0.0.1'): Promise<UdpClient> {
    const socket = createSocket(isIPv6(bindAddress) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, bindAddress, () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    return new UdpClient(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(packet: Buffer, port: number, host = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(packet, port, host, (err) => (err ? reject(err) : resolve())));
  }

  /** The next datagram received, or undefined after `timeoutMs`. */
  next(timeoutMs = 3000): Promise<Buffer | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const waiter = (b: Buffer) => {
        clearTimeout(timer);
        resolve(b);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** A datagram already received, if any (does not wait). */
  take(): Buffer | undefined {
    return this.queue.shift();
  }

  /** Everything received within `ms` (including what was already queued). */
  async collect(ms: number): Promise<Buffer[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  /** Send and wait for the reply. */
  async exchange(packet: Buffer, port: number, host = '127.0.0.1', timeoutMs = 3000): Promise<Buffer | undefined> {
    await this.send(packet, port, host);
    return this.next(timeoutMs);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export interface BuiltRequest {
  readonly packet: Buffer;
  readonly authenticator: Buffer;
  readonly identifier: number;
}

/** An Access-Request (PAP) encoded with our codec. */
export function accessRequest(opts: {
  user?: string;
  password?: string;
  secret?: string;
  identifier?: number;
  messageAuthenticator?: boolean;
  attributes?: readonly RawAttribute[];
  authenticator?: Buffer;
}): BuiltRequest {
  const secret = opts.secret ?? SECRET;
  const authenticator = opts.authenticator ?? randomBytes(16);
  const identifier = opts.identifier ?? randomBytes(1)[0]!;
  const attributes: RawAttribute[] = [];
  if (opts.user !== undefined) attributes.push(textAttribute(AttributeType.userName, opts.user));
  if (opts.password !== undefined) attributes.push(userPasswordAttribute(opts.password, secret, authenticator));
  attributes.push(...(opts.attributes ?? []));
  const packet = encodeRequest({ code: RadiusCode.accessRequest, identifier, authenticator, secret, attributes, messageAuthenticator: opts.messageAuthenticator ?? false });
  return { packet, authenticator, identifier };
}

/**
 * Decodes a reply to `req` and checks what every client relies on: the Identifier, a valid
 * Response Authenticator, a valid Message-Authenticator as the first attribute.
 */
export function checkReply(reply: Buffer | undefined, req: BuiltRequest, secret = SECRET): RadiusPacket {
  assert.ok(reply, 'a reply arrived');
  const d = decodePacket(reply);
  assert.ok(d.ok, d.ok ? '' : d.detail);
  assert.equal(d.packet.identifier, req.identifier, 'the reply carries the request Identifier');
  const v = verifyResponse(d.packet, req.authenticator, secret);
  assert.deepEqual(v, { authenticator: true, messageAuthenticator: 'valid', messageAuthenticatorFirst: true });
  return d.packet;
}

// ---------------------------------------------------------------------------------------
// Core requests, metrics

/** The flow executor requests the core received since `since` (a `requests().length`). */
export function flowRequests(core: DevCore, since = 0): RecordedRequest[] {
  return core.admin
    .requests()
    .slice(since)
    .filter((r) => r.path.startsWith('/api/v3/flows/executor/'));
}

/**
 * Flow runs since `since`: each run is a new executor with an empty cookie jar, so its initial
 * GET is the only executor request without a cookie (redirects are followed with the session).
 */
export function flowRuns(core: DevCore, since = 0): number {
  return flowRequests(core, since).filter((r) => r.method === 'GET' && r.headers['cookie'] === undefined).length;
}

/**
 * One call to the core's HTTP admin API (`/_devcore/…`, bearer = the seed's admin token);
 * fails the test unless it answers 2xx. For what `core.admin` does not offer in-process.
 */
export async function devcoreAdmin(core: DevCore, method: 'PUT' | 'PATCH' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${core.url}/_devcore${path}`, {
    method,
    headers: { authorization: 'Bearer devcore-admin', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} /_devcore${path} answered ${res.status}: ${text}`);
}

import { metricsText, metricValue } from '../../support/metrics.ts';
export { metricsText, metricValue };

export const DROPPED = 'authentik_outpost_radius_packets_dropped_total';
export const IGNORED = 'authentik_outpost_radius_packets_ignored_total';
export const REJECTED = 'authentik_outpost_radius_requests_rejected_total';
export const DURATION = 'authentik_outpost_radius_request_duration_seconds';
