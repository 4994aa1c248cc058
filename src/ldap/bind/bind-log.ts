// The log lines of one bind, each with authentik's keys (bindDN, client, requestId, connection).
// Not a pino child logger per bind: a child serialises (and redacts) its bindings when it is
// made, which every cached bind paid even with nothing logged. The keys are built once, by the
// first line the level lets through, so all lines of one bind share one requestId.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log.ts';
import { clipForLog } from '../log-fields.ts';
import type { ClientInfo } from '../server/handler.ts';

type Level = 'debug' | 'info' | 'warn';

export class BindLog {
  private readonly log: Logger;
  private readonly bindDn: string;
  private readonly client: ClientInfo;
  private keys: Record<string, unknown> | undefined;

  constructor(log: Logger, bindDn: string, client: ClientInfo) {
    this.log = log;
    this.bindDn = bindDn;
    this.client = client;
  }

  debug(fields: Record<string, unknown>, message: string): void {
    this.write('debug', fields, message);
  }

  info(fields: Record<string, unknown>, message: string): void {
    this.write('info', fields, message);
  }

  warn(fields: Record<string, unknown>, message: string): void {
    this.write('warn', fields, message);
  }

  private write(level: Level, fields: Record<string, unknown>, message: string): void {
    if (!this.log.isLevelEnabled(level)) return;
    this.keys ??= { bindDN: clipForLog(this.bindDn).toLowerCase(), client: this.client.address, requestId: randomUUID(), connection: this.client.id };
    this.log[level]({ ...this.keys, ...fields }, message);
  }
}
