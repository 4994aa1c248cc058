// Fault injection for tests: latency, failing status codes for the next N requests, garbage bodies.
import { setTimeout as sleep } from 'node:timers/promises';

export interface FaultSpec {
  /** Delay every matching request by this many milliseconds. */
  latencyMs?: number | undefined;
  /** Only requests whose path starts with this (default: every API and websocket request). */
  pathPrefix?: string | undefined;
  /** Answer matching requests with this status and `{"detail": ...}`. */
  failStatus?: number | undefined;
  /** Only the next N matching requests fail (or get garbage); unlimited when absent. */
  failCount?: number | undefined;
  /** Answer with a body that is not JSON (status failStatus, or 200). */
  garbage?: boolean | undefined;
}

export interface FaultResponse {
  status: number;
  contentType: string;
  body: string;
}

export class Faults {
  private spec: FaultSpec | null = null;
  private remaining: number | undefined;

  set(spec: FaultSpec): void {
    this.spec = { ...spec };
    this.remaining = spec.failCount;
  }

  clear(): void {
    this.spec = null;
    this.remaining = undefined;
  }

  current(): (FaultSpec & { remaining?: number | undefined }) | null {
    return this.spec ? { ...this.spec, remaining: this.remaining } : null;
  }

  /** Applies latency, then says whether this request fails and how. */
  async apply(path: string): Promise<FaultResponse | null> {
    const spec = this.spec;
    if (!spec || !path.startsWith(spec.pathPrefix ?? '/')) return null;
    if (spec.latencyMs && spec.latencyMs > 0) await sleep(spec.latencyMs);
    if (spec.failStatus === undefined && !spec.garbage) return null;
    if (this.spec !== spec) return null; // cleared while we slept
    if (this.remaining !== undefined) {
      if (this.remaining <= 0) return null;
      this.remaining--;
    }
    if (spec.garbage) return { status: spec.failStatus ?? 200, contentType: 'application/json', body: '<html><body>devcore: injected garbage \u0000{"not": json' };
    return { status: spec.failStatus ?? 500, contentType: 'application/json', body: JSON.stringify({ detail: `devcore: injected fault (status ${spec.failStatus})` }) };
  }
}
