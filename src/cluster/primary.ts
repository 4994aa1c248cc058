// AUTHENTIK_WORKERS > 1: this process forks the workers, each running the whole outpost; their
// listeners (LDAP, LDAPS, HTTP, HTTPS over TCP, RADIUS over UDP) share sockets through
// node:cluster. The primary serves the metrics listener alone: ping while it runs, ready when
// every worker is, and /metrics summed over the workers. It relays signals and restarts a
// worker that dies, with backoff, leaving the others serving; a worker that keeps dying within a
// minute of its start is given up on, and the whole outpost exits 1 for its supervisor to see.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { OutpostConfig } from '../config/index.ts';
import { named, type Logger } from '../log.ts';
import { backoffDelay, type BackoffPolicy } from '../agent/backoff.ts';
import { MetricsServer } from '../agent/metrics-server.ts';
import { EXIT_CANNOT_START, isMessage, type MetricsRefused, type MetricsRequest, type MetricsResponse, type ReadyMessage } from './protocol.ts';

/** A worker's first restart waits 1 s, doubling per quick death up to 30 s (no jitter: one primary). */
const RESTART_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, jitter: 0 };
/** A worker that ran this long before dying is restarted after the first delay again. */
const HEALTHY_RUN_MS = 60_000;
/**
 * Deaths in a row of one worker, each within HEALTHY_RUN_MS of its start, after which the primary
 * stops every worker and exits 1 (about three minutes of the backoff above): restarting it forever
 * would keep a broken outpost looking alive (ping answers) to Docker or Kubernetes, which can
 * restart the container, and say so, instead.
 */
const MAX_QUICK_DEATHS = 10;
/** A worker that does not send its metrics within this is left out of one /metrics answer. */
const METRICS_TIMEOUT_MS = 2_000;
/** Past the workers' own shutdown timeout, the primary kills what is left. */
const STOP_GRACE_MS = 5_000;

/** One of the `count` places a worker runs in; a restart fills it with a new worker (and a new id). */
interface Slot {
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths in a row, each within HEALTHY_RUN_MS of its start. */
  failures: number;
  restart: NodeJS.Timeout | undefined;
}

export interface PrimaryOptions {
  /** Overridable for tests: the restart backoff (default RESTART_BACKOFF). */
  restartBackoff?: BackoffPolicy;
}

export async function runPrimary(config: OutpostConfig, logger: Logger, opts: PrimaryOptions = {}): Promise<number> {
  const log = named(logger, 'cluster');
  const { count, auto } = config.workers;
  const slots: Slot[] = Array.from({ length: count }, () => ({ worker: undefined, ready: false, startedAt: 0, failures: 0, restart: undefined }));
  /** Metrics asked for, by request id; only the worker asked may answer. */
  const pending = new Map<number, { worker: Worker; answer: (res: MetricsResponse | undefined) => void }>();
  let nextId = 0;
  let stopping: { code: number } | undefined;
  let done!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (done = resolve));

  const live = () => slots.flatMap((s) => (s.worker ? [s.worker] : []));
  const askMetrics = (worker: Worker) =>
    new Promise<MetricsResponse | undefined>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        log.warn({ pid: worker.process.pid }, 'a worker did not send its metrics in time; left out');
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      pending.set(id, {
        worker,
        answer: (res) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(res);
        },
      });
      worker.send({ type: 'outpost:metrics?', id } satisfies MetricsRequest);
    });

  const metricsServer = new MetricsServer({
    address: config.listen.metrics,
    registry: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: async () => {
        const answers = await Promise.all(live().filter((w) => w.isConnected()).map(askMetrics));
        // Summed by name and labels (prom-client's cluster aggregation): per-outpost series carry
        // each worker's instance uuid, so they stay apart.
        return AggregatorRegistry.aggregate(answers.flatMap((a) => (a ? [a.metrics] : []))).metrics();
      },
    },
    isReady: () => slots.every((s) => s.worker !== undefined && s.ready),
    logger: named(logger, 'metrics'),
  });

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    const worker = cluster.fork();
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    worker.on('message', (msg: unknown) => {
      if (isMessage<ReadyMessage>(msg, 'outpost:ready')) slot.ready = msg.ready;
      else if (isMessage<MetricsResponse>(msg, 'outpost:metrics')) {
        const asked = pending.get(msg.id);
        if (asked?.worker === worker) asked.answer(msg);
      } else if (isMessage<MetricsRefused>(msg, 'outpost:metrics', { id: 'id' })) {
        // An answer to a request, but not one the aggregation can use: left out now, not after
        // the timeout, and said as it is.
        const asked = pending.get(msg.id);
        if (asked?.worker !== worker) return;
        log.warn({ pid: worker.process.pid }, 'a worker\'s metrics answer was refused (malformed or past its bounds); left out');
        asked.answer(undefined);
      }
    });
    // A send to a worker that just died fails here, not in the caller: its exit is handled below.
    worker.on('error', (err) => log.debug({ worker: worker.id, err }, 'worker channel error'));
    worker.once('exit', (code, signal) => exited(slot, worker, code, signal));
    log.debug({ worker: worker.id, pid: worker.process.pid }, 'worker started');
  };

  const exited = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker === worker) {
      slot.worker = undefined;
      slot.ready = false;
    }
    const pid = worker.process.pid;
    if (stopping) {
      if (live().length === 0) void metricsServer.stop().then(() => done(stopping?.code ?? 1));
      return;
    }
    if (code === EXIT_CANNOT_START) {
      log.fatal({ worker: worker.id, pid }, 'a worker cannot start the outpost (see its lines above); stopping every worker');
      stopAll(1);
      return;
    }
    slot.failures = Date.now() - slot.startedAt >= HEALTHY_RUN_MS ? 1 : slot.failures + 1;
    if (slot.failures >= MAX_QUICK_DEATHS) {
      log.fatal({ worker: worker.id, pid, ...(signal ? { signal } : { code }), deaths: slot.failures }, 'a worker keeps dying within a minute of its start; stopping every worker');
      stopAll(1);
      return;
    }
    const delayMs = backoffDelay(slot.failures, opts.restartBackoff ?? RESTART_BACKOFF);
    log.error({ worker: worker.id, pid, ...(signal ? { signal } : { code }), restartInMs: delayMs }, 'worker exited unexpectedly; restarting it');
    slot.restart = setTimeout(() => {
      fork(slot);
      log.info({ worker: slot.worker?.id, pid: slot.worker?.process.pid }, 'worker restarted');
    }, delayMs);
  };

  const stopAll = (code: number) => {
    stopping = { code };
    for (const s of slots) clearTimeout(s.restart);
    // Each worker runs its own graceful shutdown (its AUTHENTIK_OUTPOST__SHUTDOWN_TIMEOUT applies).
    for (const w of live()) w.process.kill('SIGTERM');
    setTimeout(() => {
      const left = live();
      if (left.length === 0) return;
      log.error({ pids: left.map((w) => w.process.pid) }, 'workers did not stop in time; killing them');
      stopping = { code: 1 };
      for (const w of left) w.process.kill('SIGKILL');
    }, config.timing.shutdownTimeoutMs + STOP_GRACE_MS).unref();
    if (live().length === 0) void metricsServer.stop().then(() => done(code));
  };

  const onStopSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; killing the workers and exiting now');
      for (const w of live()) w.process.kill('SIGKILL');
      logger.flush();
      process.exit(1);
    }
    log.info({ signal }, 'received signal, stopping the workers');
    stopAll(0);
  };
  process.on('SIGTERM', onStopSignal);
  process.on('SIGINT', onStopSignal);
  process.on('SIGUSR1', () => {
    log.info('SIGUSR1 received, asking every worker to refresh');
    for (const w of live()) w.process.kill('SIGUSR1');
  });

  try {
    await metricsServer.start();
  } catch (err) {
    log.fatal({ error: (err as Error).message }, 'cannot start the outpost');
    return 1;
  }
  log.info({ workers: count, why: auto ? `AUTHENTIK_WORKERS=auto: ${count} cores` : `AUTHENTIK_WORKERS=${count}` }, 'starting worker processes sharing the listeners');
  for (const slot of slots) fork(slot);
  return finished;
}
