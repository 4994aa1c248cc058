// What every proxy stack starts the same way: a seed read from config/, the development core
// with it on port 0, and an outpost with the proxy plugin on loopback port 0 (HTTP and HTTPS).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startDevCore, type DevCore } from '../../../src/devcore/index.ts';
import type { SeedDocument } from '../../../src/devcore/seed.ts';
import type { ListenerPlugin } from '../../../src/agent/listener.ts';
import { proxyPlugin, type ProxyListener } from '../../../src/proxy/listener.ts';
import { startOutpost, testConfig, type AuthentikVersion, type TestOutpost } from '../../support/outpost.ts';

/** A fresh copy of a seed file (tests edit it before the core starts). */
export function readSeed(path: string): SeedDocument {
  return parseYaml(readFileSync(path, 'utf8')) as SeedDocument;
}

export interface CoreAndOutpost {
  core: DevCore;
  outpost: TestOutpost;
  listener: ProxyListener;
  httpPort: number;
  httpsPort: number;
  /** Stops the outpost, then the core. */
  close(): Promise<void>;
}

/** The core with `seed`, and an outpost with `token` and the proxy plugin; the core is closed again if the outpost fails to start. */
export async function startCoreAndOutpost(opts: { seed: SeedDocument; token: string; authentikVersion: AuthentikVersion; env?: NodeJS.ProcessEnv }): Promise<CoreAndOutpost> {
  const core = await startDevCore({ seed: opts.seed, port: 0, authentikVersion: opts.authentikVersion });
  let outpost: TestOutpost | undefined;
  try {
    const config = testConfig(core.url, [opts.token], { AUTHENTIK_LISTEN__HTTP: '127.0.0.1:0', AUTHENTIK_LISTEN__HTTPS: '127.0.0.1:0', ...opts.env });
    outpost = await startOutpost(config, [proxyPlugin as ListenerPlugin]);
    const listener = outpost.runtime.listener('proxy') as ProxyListener;
    const o = outpost;
    return {
      core,
      outpost: o,
      listener,
      httpPort: listener.ports.httpPort!,
      httpsPort: listener.ports.httpsPort!,
      async close() {
        await o.runtime.shutdown();
        await core.close();
      },
    };
  } catch (err) {
    await outpost?.runtime.shutdown();
    await core.close();
    throw err;
  }
}
