// The primary against workers that misbehave: small scripts stand in for the outpost
// (`cluster.setupPrimary`), so each case takes a second, not an outpost start. A worker that keeps
// dying at start is given up on (exit 1, so the supervisor sees the crash loop); a worker's
// metrics answer that is refused costs the scrape no wait; a worker that ignores SIGTERM is
// killed at the deadline and the primary exits.
import { strict as assert } from 'node:assert';
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { runPrimary } from '../../src/cluster/primary.ts';
import { createRootLogger } from '../../src/log.ts';
import { freePort } from '../support/reverse-proxy.ts';
import { testConfig } from '../support/outpost.ts';

const dir = mkdtempSync(join(tmpdir(), 'primary-test-'));
const script = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** Ready at once; answers metrics requests with what `answer` builds from the request. */
const worker = (answer: string, extra = '') =>
  script(
    `worker-${Math.random().toString(36).slice(2)}.mjs`,
    `process.send({ type: 'outpost:ready', ready: true });
     process.on('message', async (m) => { if (m && m.type === 'outpost:metrics?') process.send(${answer}); });
     ${extra}
     setInterval(() => {}, 1000);`,
  );

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createRootLogger({ level: 'debug', destination, batch: false }), lines };
}

async function config(env: NodeJS.ProcessEnv = {}) {
  const metrics = await freePort();
  return { port: metrics, config: testConfig('http://127.0.0.1:1', ['t'], { AUTHENTIK_WORKERS: '2', AUTHENTIK_LISTEN__METRICS: `127.0.0.1:${metrics}`, AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT: '1s', ...env }) };
}

const live = () => Object.values(cluster.workers ?? {}).flatMap((w) => (w && !w.isDead() ? [w] : []));
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T | string> =>
  Promise.race([p, new Promise<string>((resolve) => setTimeout(() => resolve(`${what} after ${ms} ms`), ms).unref())]);

/** Stop whatever a failed case left running: the primary's own stop signal (a second one would exit this process). */
async function stop(run: Promise<number>, signalled = false): Promise<void> {
  const settled = await within(run.then(() => true), 0, 'running');
  if (settled !== true) {
    if (signalled) for (const w of live()) w.process.kill('SIGKILL');
    else process.emit('SIGTERM', 'SIGTERM');
    await within(run, 10_000, 'still running');
  }
  for (const w of live()) w.process.kill('SIGKILL');
  // runPrimary's signal handlers stay on the process: the next case installs its own.
  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGUSR1');
}

describe('the cluster primary', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('workers that die at every start are given up on: every worker stopped, exit 1, one fatal line', async () => {
    cluster.setupPrimary({ exec: script('crash.mjs', 'process.exit(3);') });
    const { logger, lines } = capture();
    const run = runPrimary((await config()).config, logger, { restartBackoff: { initialMs: 5, maxMs: 20, jitter: 0 } });
    try {
      assert.equal(await within(run, 20_000, 'still restarting'), 1);
      assert.equal(live().length, 0);
      const fatal = lines.filter((l) => l['level'] === 'fatal');
      assert.equal(fatal.length, 1, JSON.stringify(fatal));
      assert.match(String(fatal[0]!['event']), /keeps dying/);
      assert.equal(fatal[0]!['deaths'], 10);
      // The one that gave up is not restarted: at most 9 restarts per place.
      assert.ok(lines.filter((l) => l['event'] === 'worker restarted').length <= 18);
    } finally {
      await stop(run);
    }
  });

  test('a metrics answer the primary refuses leaves that worker out at once, saying so; the other\'s metrics are served', async () => {
    const good = `{ type: 'outpost:metrics', id: m.id, metrics: [{ name: 'c_total', help: 'h', type: 'counter', aggregator: 'sum', values: [{ value: 1, labels: {} }] }] }`;
    const bad = `{ type: 'outpost:metrics', id: m.id, metrics: [{ name: 'c_total 1\\nevil 1', help: 'h', type: 'counter', aggregator: 'sum', values: [] }] }`;
    // The two workers have consecutive ids: one answers well, the other badly.
    cluster.setupPrimary({ exec: worker(`(await import('node:cluster')).default.worker.id % 2 === 0 ? ${good} : ${bad}`) });
    const { logger, lines } = capture();
    const { config: c, port } = await config();
    const run = runPrimary(c, logger);
    try {
      const ready = async () => (await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/ready`).catch(() => undefined))?.status;
      for (let i = 0; i < 100 && (await ready()) !== 204; i++) await new Promise((r) => setTimeout(r, 50));
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const text = await res.text();
      const took = performance.now() - started;
      assert.equal(res.status, 200);
      assert.match(text, /^c_total 1$/m);
      assert.doesNotMatch(text, /evil/);
      assert.ok(took < 1000, `answered in ${Math.round(took)} ms`);
      assert.equal(lines.filter((l) => /did not send its metrics in time/.test(String(l['event']))).length, 0);
      assert.equal(lines.filter((l) => /metrics answer was refused/.test(String(l['event']))).length, 1);
    } finally {
      await stop(run);
    }
  });

  test('a worker that ignores SIGTERM is killed at the deadline; the primary exits 1', async () => {
    cluster.setupPrimary({ exec: worker('null', `process.on('SIGTERM', () => {});`) });
    const { logger, lines } = capture();
    const { config: c, port } = await config();
    const run = runPrimary(c, logger);
    try {
      for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${port}/outpost.goauthentik.io/ready`).catch(() => undefined))?.status !== 204; i++) await new Promise((r) => setTimeout(r, 50));
      process.emit('SIGTERM', 'SIGTERM');
      // AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT (1 s) and the 5 s grace.
      assert.equal(await within(run, 10_000, 'still stopping'), 1);
      assert.equal(live().length, 0);
      assert.ok(lines.some((l) => l['event'] === 'workers did not stop in time; killing them'));
    } finally {
      await stop(run, true);
    }
  });
});
