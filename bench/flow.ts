// Flow executions per second through the executor against the development core.
// Usage: npm run bench:flow [-- --seconds 10 --concurrency 16]
// The core runs in its own process so that the two do not share one event loop.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CoreApi, createDispatcher } from '../src/agent/core-api.ts';
import { createFlowExecutor, LDAP_PARAMS } from '../src/flow/index.ts';
import { createRootLogger } from '../src/log.ts';
import { userAgent } from '../src/version.ts';
import { freePort } from './support.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    user: { type: 'string', default: 'alice' },
    password: { type: 'string', default: 'alice-password' },
    token: { type: 'string', default: 'demo-ldap-token' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);


const port = await freePort();
const core = spawn(process.execPath, [new URL('../src/devcore/main.ts', import.meta.url).pathname], {
  env: { ...process.env, DEVCORE_SEED: new URL('../config/demo.yaml', import.meta.url).pathname, DEVCORE_LISTEN: `127.0.0.1:${port}` },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const dispatcher = createDispatcher({ insecure: false, connections: concurrency * 2 });
const api = new CoreApi({ host: new URL(`http://127.0.0.1:${port}`), token: values.token, userAgent: userAgent(), dispatcher, timeoutMs: 10_000 });

try {
  const provider = z.object({ bind_flow_slug: z.string() });
  let slug = '';
  for (let i = 0; i < 100 && !slug; i++) {
    try {
      slug = (await api.list('/outposts/ldap/', provider))[0]?.bind_flow_slug ?? '';
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!slug) throw new Error('the development core did not start');

  const logger = createRootLogger({ level: 'silent' });
  const deps = { core: api, logger };
  const run = async () => {
    const outcome = await createFlowExecutor(deps, { clientIp: '127.0.0.1' }).run({
      flowSlug: slug,
      params: LDAP_PARAMS,
      answers: { username: values.user, password: values.password },
    });
    if (outcome.kind !== 'passed') throw new Error(`flow did not pass: ${outcome.kind} ${outcome.message}`);
  };

  for (let i = 0; i < concurrency * 4; i++) await run(); // warm-up: JIT, connections
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await run();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  process.stdout.write(
    `flow: ${latencies.length} executions in ${elapsed.toFixed(1)} s = ${(latencies.length / elapsed).toFixed(0)}/s, p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms (flow ${slug}, concurrency ${concurrency}, core in a separate process)\n`,
  );
} finally {
  core.kill('SIGTERM');
  await dispatcher.close();
}
