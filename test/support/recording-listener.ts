// A real listener plugin for agent tests: it serves nothing but records every provider list
// the agent applies, so tests can see what reached a listener and when.
import { z } from 'zod';
import type { ListenerPlugin, OutpostContext } from '../../src/agent/listener.ts';

export const recordedProviderSchema = z.object({ pk: z.number(), name: z.string() }).loose();
export type RecordedProvider = z.infer<typeof recordedProviderSchema>;

export interface Applied {
  outpost: string;
  generation: OutpostContext['generation'];
  providers: RecordedProvider[];
  at: number;
}

export class RecordingListener {
  readonly applied: Applied[] = [];
  readonly providerSpecific: Record<string, unknown>[] = [];
  readonly sessionEnds: { outpost: string; sessionId: string }[] = [];
  started = 0;
  stopped = 0;
  /** When set, `apply` throws: simulates a listener that rejects a configuration. */
  failNext: string | undefined;

  async apply(ctx: OutpostContext, providers: readonly RecordedProvider[]): Promise<void> {
    if (this.failNext) {
      const msg = this.failNext;
      this.failNext = undefined;
      throw new Error(msg);
    }
    this.applied.push({ outpost: ctx.outpost.name, generation: ctx.generation, providers: [...providers], at: Date.now() });
  }
  async start(): Promise<void> {
    this.started++;
  }
  async stop(): Promise<void> {
    this.stopped++;
  }
  onProviderSpecific(_ctx: OutpostContext, args: Record<string, unknown>): void {
    this.providerSpecific.push(args);
  }
  onSessionEnd(ctx: OutpostContext, sessionId: string): void {
    this.sessionEnds.push({ outpost: ctx.outpost.name, sessionId });
  }
  last(): Applied | undefined {
    return this.applied.at(-1);
  }
}

/** A plugin for `type` that lists providers from `path`, sharing one recorder for assertions. */
export function recordingPlugin(type: 'ldap' | 'radius' | 'proxy', path: string, recorder = new RecordingListener()): { plugin: ListenerPlugin<RecordedProvider>; recorder: RecordingListener } {
  return {
    recorder,
    plugin: { type, providersPath: path, providerSchema: recordedProviderSchema, create: () => recorder },
  };
}
