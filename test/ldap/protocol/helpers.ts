/**
 * Test support: a tiny LDAP server on loopback built only from the protocol layer, used
 * to capture what an independent client (ldapts) sends and to answer it with our encoder.
 */

import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { splitPdus } from '../../../src/ldap/protocol/framing.ts';
import { decodeMessage, encodeMessage, type Control, type LdapMessage, type LdapResponse } from '../../../src/ldap/protocol/messages.ts';

export interface Reply {
  readonly response: LdapResponse;
  readonly controls?: readonly Control[];
}

/** Returns the replies for one request (empty for none). */
export type Responder = (msg: LdapMessage) => readonly Reply[];

export class CaptureServer {
  readonly received: LdapMessage[] = [];
  readonly rawPdus: Buffer[] = [];
  readonly errors: unknown[] = [];
  responder: Responder = () => [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private waiters: { pred: (m: LdapMessage) => boolean; resolve: (m: LdapMessage) => void }[] = [];

  constructor() {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buf = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const split = splitPdus(buf);
        for (const pdu of split.pdus) {
          this.rawPdus.push(Buffer.from(pdu));
          let msg: LdapMessage;
          try {
            msg = decodeMessage(pdu);
          } catch (e) {
            this.errors.push(e);
            socket.destroy();
            return;
          }
          this.received.push(msg);
          for (const w of this.waiters.filter((x) => x.pred(msg))) w.resolve(msg);
          this.waiters = this.waiters.filter((x) => !x.pred(msg));
          for (const r of this.responder(msg)) {
            socket.write(encodeMessage(msg.messageId, r.response, r.controls));
          }
        }
        buf = Buffer.from(buf.subarray(split.consumed));
        if (split.error !== undefined) {
          this.errors.push(split.error);
          socket.destroy();
        }
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `ldap://127.0.0.1:${port}`;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves with the next received message matching `pred` (or one already received). */
  waitFor(pred: (m: LdapMessage) => boolean, timeoutMs = 3000): Promise<LdapMessage> {
    const found = this.received.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  last(): LdapMessage {
    const m = this.received[this.received.length - 1];
    if (m === undefined) throw new Error('no message received');
    return m;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export { prng } from '../../support/random.ts';
