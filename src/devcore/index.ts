// The development core: an authentik-compatible fake server (REST API, flow executor, outpost
// websocket) that tests and the demo run outposts against. See config/demo.yaml for the seed.
import { createRootLogger, type Logger } from '../log.ts';
import { Admin, type DevCoreAdmin } from './admin.ts';
import { AdminHttp } from './admin-http.ts';
import { Api } from './api.ts';
import { EventLog } from './events.ts';
import { Faults } from './faults.ts';
import { FlowEngine } from './flows.ts';
import { Store } from './model.ts';
import { Oidc } from './oidc.ts';
import { Recorder } from './recorder.ts';
import { loadSeed, type SeedDocument } from './seed.ts';
import { DevCoreServer } from './server.ts';
import { SessionStore } from './sessions.ts';
import { resolveAuthentikVersion, type AuthentikVersion } from './version.ts';
import { WsHub } from './ws.ts';

export interface DevCoreOptions {
  /** Path to a YAML seed file, or an already-parsed seed document. */
  seed: string | SeedDocument;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9900; 0 = an ephemeral port. */
  port?: number;
  /** Default: a JSON logger at 'warn' on stdout. */
  logger?: Logger;
  /** DEMO_USERS: adds user1..userN (password 'bench-pass') spread over group1..group100, all in 'vpn'. */
  extraUsers?: number;
  /**
   * The API generation served: authentik 2024.4's shapes, or those of 2024.8 and later as
   * 2026.8 serves them. Default: env DEVCORE_AUTHENTIK_VERSION, else '2026.8'.
   */
  authentikVersion?: AuthentikVersion;
}

export interface DevCore {
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly port: number;
  /** The API generation served. */
  readonly authentikVersion: AuthentikVersion;
  readonly admin: DevCoreAdmin;
  /** Stop listening, terminate websockets; resolves when closed. */
  close(): Promise<void>;
}

export async function startDevCore(opts: DevCoreOptions): Promise<DevCore> {
  const authentikVersion = resolveAuthentikVersion(opts.authentikVersion);
  const seed = loadSeed(opts.seed);
  const root = opts.logger ?? createRootLogger({ level: 'warn' });
  const logger = root.child({ logger: 'devcore' });
  const host = opts.host ?? '127.0.0.1';
  const store = await Store.create(seed, { extraUsers: opts.extraUsers ?? 0, authentikVersion });
  const sessions = new SessionStore(store);
  const hub = new WsHub(store, logger, { ttlMs: seed.outpost_state_ttl_seconds * 1000 });
  store.onChange((target, reason) => {
    logger.debug({ reason }, 'data changed, triggering outpost update');
    hub.triggerUpdate(target);
  });
  const flows = new FlowEngine({
    store,
    sessions,
    logger,
    duoDelayMs: seed.mfa.duo_delay_ms,
    totpReplayProtection: seed.mfa.totp_replay_protection,
    onLogout: (key) => hub.sessionEnded(key),
  });
  const events = new EventLog();
  const api = new Api({ store, sessions, hub, flows, events, logger });
  const oidc = new Oidc({ store, sessions, logger, onLogout: (key) => hub.sessionEnded(key) });
  const recorder = new Recorder();
  const faults = new Faults();
  let adminHttp: AdminHttp | undefined;
  const server = new DevCoreServer({ store, api, hub, recorder, faults, admin: () => adminHttp as AdminHttp, oidc, logger });
  const admin = new Admin({ store, sessions, hub, faults, recorder, events, listener: server });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const describe = () => ({
    url: `http://${urlHost}:${server.port}`,
    authentik_version: authentikVersion,
    version: store.version,
    outposts: [...store.outposts.values()].map((o) => ({ name: o.name, pk: o.pk, type: o.type, providers: o.providers, websockets: hub.openCount(o) })),
    users: store.users.size,
    sessions: sessions.size,
  });
  adminHttp = new AdminHttp(admin, seed.admin_token, describe);
  const port = await server.listen(host, opts.port ?? 9900);
  const url = `http://${urlHost}:${port}`;
  store.baseUrl = url;
  logger.info({ url, authentik_version: authentikVersion, outposts: [...store.outposts.keys()], users: store.users.size }, 'development core listening; outpost tokens and passwords are in the seed');
  return {
    url,
    port,
    authentikVersion,
    admin,
    close: () => server.close(),
  };
}

export type {
  DevCoreAdmin,
  AddUserInput,
  UpdateUserInput,
  AddGroupInput,
  DeviceInput,
  OutpostPatch,
  ProviderPatch,
  FlowInput,
  StagesInput,
  OutpostInfo,
  CertificateInfo,
  PermissionInput,
  PropertyMappingInput,
} from './admin.ts';
export type { EventJson } from './events.ts';
export type { FaultSpec } from './faults.ts';
export type { RecordedRequest } from './recorder.ts';
export type { SessionInfo } from './sessions.ts';
export type { OutpostHealth, WsConnectionInfo } from './ws.ts';
export type { Seed, SeedDocument } from './seed.ts';
export { loadSeed, loadSeedFile, parseSeed, SeedError } from './seed.ts';
export { totpCode } from './totp.ts';
export { AUTHENTIK_VERSIONS, AuthentikVersionError, SERVER_VERSION, type AuthentikVersion } from './version.ts';
export { SEARCH_FULL_DIRECTORY } from './permissions.ts';
