// The PostgreSQL store's invalidation channel: one dedicated connection that LISTENs for the
// session IDs other replicas delete (a pooled connection cannot: LISTEN belongs to a session).
// When it is lost it is re-established with backoff; a loss and each re-subscription are
// reported, because deletions in between were missed and local caches must forget everything.
import pg from 'pg';
import type { Logger } from '../../log.ts';
import { backoffDelay, sleep, type BackoffPolicy } from '../../agent/backoff.ts';
import { bounded } from './bounded.ts';
import { MAX_ID_LENGTH } from './shared.ts';

/** Quick first retries: while the channel is down, caches are bypassed. */
const LISTEN_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5000, jitter: 0.2 };

export interface ListenChannelOptions {
  readonly config: pg.ClientConfig;
  readonly channel: string;
  readonly logger: Logger;
  /** Bounds connect and LISTEN. */
  readonly timeoutMs: number;
  readonly redact: (text: string) => string;
  /** A notification's payload, split into IDs. */
  readonly onIds: (ids: readonly string[]) => void;
  /** The channel went down (`false`) or is subscribed again (`true`). */
  readonly onState: (subscribed: boolean) => void;
  readonly backoff?: BackoffPolicy;
}

/** IDs in a payload: space-separated, each non-empty and of sane length. */
function parsePayload(payload: string | undefined): string[] {
  if (!payload) return [];
  // PostgreSQL keeps payloads under 8000 bytes, which bounds the count too.
  return payload.split(' ').filter((id) => id !== '' && id.length <= MAX_ID_LENGTH);
}

export class ListenChannel {
  private readonly opts: ListenChannelOptions;
  private readonly stopper = new AbortController();
  private client: pg.Client | undefined;
  private loop: Promise<void> | undefined;
  private _subscribed = false;
  private firstAttempt: Promise<void> | undefined;
  private settleFirst: (() => void) | undefined;

  constructor(opts: ListenChannelOptions) {
    this.opts = opts;
  }

  get subscribed(): boolean {
    return this._subscribed;
  }

  /** Starts the loop; resolves once the first attempt succeeded or failed. */
  start(): Promise<void> {
    this.firstAttempt ??= new Promise<void>((resolve) => {
      this.settleFirst = resolve;
    });
    this.loop ??= this.run();
    return this.firstAttempt;
  }

  async close(): Promise<void> {
    this.stopper.abort();
    const c = this.client;
    this.client = undefined;
    if (c) await bounded(c.end(), this.opts.timeoutMs).catch(() => {});
    await this.loop;
  }

  private async run(): Promise<void> {
    const { logger } = this.opts;
    let failures = 0;
    while (!this.stopper.signal.aborted) {
      const client = new pg.Client(this.opts.config);
      let lost!: () => void;
      const ended = new Promise<void>((resolve) => (lost = resolve));
      // Without an 'error' listener a dropped connection would crash the process.
      client.on('error', () => lost());
      client.on('end', () => lost());
      const onStop = () => lost();
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      try {
        await bounded(client.connect(), this.opts.timeoutMs);
        client.on('notification', (msg) => {
          if (msg.channel !== this.opts.channel) return;
          const ids = parsePayload(msg.payload);
          if (ids.length > 0) this.opts.onIds(ids);
        });
        await bounded(client.query(`LISTEN ${this.opts.channel}`), this.opts.timeoutMs);
        this.client = client;
        this.setSubscribed(true);
        if (failures > 0) logger.info({ attempts: failures }, 'session invalidation channel re-established');
        failures = 0;
        this.settleFirst?.();
        await ended;
      } catch (err) {
        failures++;
        // One line when it breaks, then one every 20 failures: the store's health already says more.
        if (failures === 1 || failures % 20 === 0) logger.warn({ err: { message: this.opts.redact((err as Error)?.message ?? String(err)) }, attempts: failures }, 'session invalidation channel unavailable; retrying');
        this.settleFirst?.();
      } finally {
        this.stopper.signal.removeEventListener('abort', onStop);
        this.client = undefined;
        this.setSubscribed(false);
        void bounded(client.end(), this.opts.timeoutMs).catch(() => {});
      }
      if (this.stopper.signal.aborted) break;
      await sleep(backoffDelay(Math.max(1, failures), this.opts.backoff ?? LISTEN_BACKOFF), this.stopper.signal);
    }
  }

  private setSubscribed(v: boolean): void {
    if (this._subscribed === v) return;
    this._subscribed = v;
    this.opts.onState(v);
  }
}
