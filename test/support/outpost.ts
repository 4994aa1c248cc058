// Start the development core and an outpost runtime against it, the way a test needs them.
import { loadConfig, type OutpostConfig } from '../../src/config/index.ts';
import type { BackoffPolicy } from '../../src/agent/backoff.ts';
import type { ListenerPlugin } from '../../src/agent/listener.ts';
import { Runtime } from '../../src/runtime.ts';
import { startDevCore, type DevCore } from '../../src/devcore/index.ts';
import { captureLogs, type CapturedLogs } from './logs.ts';

export const TEST_SEED = new URL('../../config/devcore-test.yaml', import.meta.url).pathname;

export type AuthentikVersion = '2024.4' | '2026.8';
/** Both API generations the outpost speaks, for suites that run against each. */
export const AUTHENTIK_VERSIONS: readonly AuthentikVersion[] = ['2024.4', '2026.8'];

export async function startCore(opts: { authentikVersion?: AuthentikVersion } = {}): Promise<DevCore> {
  return startDevCore({ seed: TEST_SEED, port: 0, ...opts });
}

export function testConfig(coreUrl: string, tokens: string[], env: NodeJS.ProcessEnv = {}): OutpostConfig {
  return loadConfig({
    files: [],
    env: {
      AUTHENTIK_HOST: coreUrl,
      AUTHENTIK_TOKEN: tokens.join(','),
      AUTHENTIK_LISTEN__METRICS: '127.0.0.1:0',
      // No random delay before pushed refreshes, so tests can expect them within a second.
      AUTHENTIK_OUTPOST__RELOAD_OFFSET_MAX: '0',
      AUTHENTIK_OUTPOST__API_TIMEOUT: '2s',
      ...env,
    },
  });
}

export interface TestOutpost {
  runtime: Runtime;
  logs: CapturedLogs;
  metricsUrl: string;
}

export async function startOutpost(config: OutpostConfig, plugins: readonly ListenerPlugin[], opts: { helloIntervalMs?: number; minRefreshIntervalMs?: number; websocketBackoff?: BackoffPolicy; await?: boolean } = {}): Promise<TestOutpost> {
  const logs = captureLogs('debug');
  const runtime = new Runtime({
    config,
    plugins,
    logger: logs.logger,
    ...(opts.helloIntervalMs ? { helloIntervalMs: opts.helloIntervalMs } : {}),
    ...(opts.minRefreshIntervalMs !== undefined ? { minRefreshIntervalMs: opts.minRefreshIntervalMs } : {}),
    ...(opts.websocketBackoff ? { websocketBackoff: opts.websocketBackoff } : {}),
  });
  const started = runtime.start();
  if (opts.await !== false) await started;
  else started.catch(() => {});
  return { runtime, logs, get metricsUrl() { return `http://127.0.0.1:${runtime.metricsPort}`; } };
}
