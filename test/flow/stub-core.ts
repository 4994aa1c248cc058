// A scripted HTTP server standing in for the core in the executor's own tests (the development
// core's end-to-end tests live in executor.e2e.test.ts). Records every request.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { HttpPool } from '../../src/net/pool.ts';
import { createRootLogger, type Logger } from '../../src/log.ts';
import type { FlowDeps } from '../../src/flow/index.ts';

export interface Recorded {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string | string[]>;
  json?: unknown;
  text?: string;
  delayMs?: number;
}

export type Handler = (req: Recorded, index: number) => Reply;

export interface Stub {
  origin: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startStub(handler: Handler): Promise<Stub> {
  const requests: Recorded[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const index = requests.push(rec) - 1;
      const reply = handler(rec, index);
      const send = () => {
        const body = reply.text ?? (reply.json === undefined ? '' : JSON.stringify(reply.json));
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(body);
      };
      if (reply.delayMs) {
        const t = setTimeout(() => { timers.delete(t); send(); }, reply.delayMs);
        timers.add(t);
      } else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A logger that keeps every line, to assert that no secret is ever logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: createRootLogger({ level: 'trace', destination }), lines };
}

export interface MetricCall {
  kind: 'get' | 'post';
  flow: string;
  stage: string;
  seconds: number;
}

export function makeDeps(origin: string, dispatcher: HttpPool, logger: Logger, extra: Partial<FlowDeps> = {}): FlowDeps & { calls: MetricCall[] } {
  const calls: MetricCall[] = [];
  return {
    core: { origin, token: 'outpost-token-xyz', userAgent: 'goauthentik.io/outpost/2026.8.6', dispatcher, timeoutMs: 2_000 },
    logger,
    metrics: {
      observeGet: (flow, stage, seconds) => calls.push({ kind: 'get', flow, stage, seconds }),
      observePost: (flow, stage, seconds) => calls.push({ kind: 'post', flow, stage, seconds }),
    },
    calls,
    ...extra,
  };
}
