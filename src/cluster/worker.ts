// A worker process (AUTHENTIK_WORKERS > 1) runs the whole outpost as a single process would,
// without the metrics listener: it tells the primary when its readiness changes and answers
// the primary's requests for its metrics.
import type { Runtime } from '../runtime.ts';
import { isMessage, type MetricsRequest, type MetricsResponse, type ReadyMessage } from './protocol.ts';

export { EXIT_CANNOT_START } from './protocol.ts';

/** How often readiness is looked at; a change reaches the primary within this. */
const READY_POLL_MS = 250;

export function serveThePrimary(runtime: Runtime): void {
  const send = (msg: ReadyMessage | MetricsResponse) => {
    // The channel is gone when the primary died: the worker exits on its own then (node:cluster).
    if (process.connected) process.send?.(msg);
  };
  let ready: boolean | undefined;
  const poll = () => {
    const now = runtime.ready();
    if (now !== ready) send({ type: 'outpost:ready', ready: (ready = now) });
  };
  poll();
  setInterval(poll, READY_POLL_MS).unref();
  process.on('message', (msg: unknown) => {
    if (!isMessage<MetricsRequest>(msg, 'outpost:metrics?')) return;
    runtime.metrics.registry.getMetricsAsJSON().then(
      (metrics) => send({ type: 'outpost:metrics', id: msg.id, metrics }),
      () => send({ type: 'outpost:metrics', id: msg.id, metrics: [] }),
    );
  });
}
