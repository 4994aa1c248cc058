// Admission: at most maxRunning authentications at once, a bounded queue behind them served
// round robin across client addresses, a full queue that makes room for a smaller holder by
// pushing out the largest holder's newest entry, and nothing started too near its deadline.
// authentik has no limit and no queue (one goroutine per packet); this project dropped every
// request above the cap, so a burst of 200 waited for the NAS to retransmit.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Admission, DurationEstimate, type Clock } from '../../src/radius/admission.ts';
import { prng } from '../support/random.ts';

const at = (now: number, need = 0): Clock => ({ now, need });
const FAR = 1_000_000;

/** Starts the next entries until none is left, finishing one running authentication per step: the order they run in. */
function runAll<T>(a: Admission<T>, clock = at(0)): T[] {
  const order: T[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const next = a.done(clock);
    if (next.run === undefined && a.running === 0) break;
    if (next.run !== undefined) order.push(next.run);
  }
  return order;
}

describe('Admission', () => {
  it('runs at once up to maxRunning, then queues up to maxQueued, then refuses', () => {
    const a = new Admission<string>({ maxRunning: 2, maxQueued: 3 });
    const kinds = ['r1', 'r2', 'q1', 'q2', 'q3', 'x'].map((id) => a.offer('10.0.0.1', id, FAR, at(0)).kind);
    assert.deepEqual(kinds, ['run', 'run', 'queued', 'queued', 'queued', 'full']);
    assert.equal(a.running, 2);
    assert.equal(a.queued, 3);
  });

  it('a finished authentication hands its slot to the oldest entry of one client (first in, first out)', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 10 });
    for (const id of ['a', 'b', 'c', 'd']) a.offer('10.0.0.1', id, FAR, at(0));
    assert.deepEqual(runAll(a), ['b', 'c', 'd']);
    assert.equal(a.queued, 0);
    assert.equal(a.running, 0);
    // Free again: the next one runs at once.
    assert.equal(a.offer('10.0.0.1', 'e', FAR, at(0)).kind, 'run');
  });

  it('serves clients round robin: a backlog of one does not delay another', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 100 });
    a.offer('flood', 'running', FAR, at(0));
    for (let i = 0; i < 50; i++) a.offer('flood', `f${i}`, FAR, at(0));
    for (let i = 0; i < 3; i++) a.offer('nas', `n${i}`, FAR, at(0));
    const order = runAll(a);
    assert.deepEqual(order.slice(0, 6), ['f0', 'n0', 'f1', 'n1', 'f2', 'n2'], 'alternating from the start');
    assert.equal(order.length, 53);
  });

  it('a full queue makes room for a smaller holder by pushing out the largest holder\'s newest entry', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 4 });
    a.offer('flood', 'running', FAR, at(0));
    for (let i = 0; i < 4; i++) assert.equal(a.offer('flood', `f${i}`, FAR, at(0)).kind, 'queued');
    assert.deepEqual(a.offer('flood', 'f4', FAR, at(0)), { kind: 'full', expired: [] }, 'the holder of everything gets no more');
    assert.deepEqual(a.offer('nas', 'n0', FAR, at(0)), { kind: 'queued', pushedOut: 'f3', expired: [] });
    assert.deepEqual(a.offer('nas', 'n1', FAR, at(0)), { kind: 'queued', pushedOut: 'f2', expired: [] });
    // 2 and 2: pushing out would only swap the roles.
    assert.equal(a.offer('nas', 'n2', FAR, at(0)).kind, 'full');
    assert.equal(a.queued, 4);
    assert.deepEqual(runAll(a), ['f0', 'n0', 'f1', 'n1']);
  });

  it('never shuts a newcomer out while one client holds more than one place', () => {
    const a = new Admission<number>({ maxRunning: 1, maxQueued: 8 });
    a.offer('flood', -1, FAR, at(0));
    for (let i = 0; i < 100; i++) a.offer('flood', i, FAR, at(0));
    let admitted = 0;
    for (let c = 0; c < 8; c++) if (a.offer(`nas${c}`, 1000 + c, FAR, at(0)).kind === 'queued') admitted++;
    assert.equal(admitted, 7, 'seven newcomers get a place; the flood keeps one');
    assert.equal(a.queued, 8);
  });

  it('a random mix: every entry is accounted for exactly once, and no client ever holds more than its share of a full queue', () => {
    const rand = prng(0xad1);
    const a = new Admission<string>({ maxRunning: 3, maxQueued: 12 });
    const outcome = new Map<string, string>();
    const clientOf = new Map<string, string>();
    const clients = ['a', 'b', 'c', 'd'];
    const holding = (client: string): number => [...outcome].filter(([id, o]) => o === 'queued' && clientOf.get(id) === client).length;
    let now = 0;
    for (let i = 0; i < 3000; i++) {
      now += Math.floor(rand() * 3);
      const clock = at(now, 5);
      if (rand() < 0.55) {
        const id = `r${i}`;
        const client = clients[Math.floor(rand() ** 3 * clients.length)]!; // 'a' floods
        clientOf.set(id, client);
        const offer = a.offer(client, id, now + 40, clock);
        for (const e of offer.expired) outcome.set(e, 'expired');
        if (offer.kind === 'run') outcome.set(id, 'ran');
        else if (offer.kind === 'full') {
          outcome.set(id, 'refused');
          const largest = Math.max(...clients.map(holding));
          assert.ok(holding(client) + 1 >= largest, `refused only when ${client} holds about the largest share (${holding(client)} of ${largest})`);
        } else {
          outcome.set(id, 'queued');
          if (offer.pushedOut !== undefined) {
            assert.equal(outcome.get(offer.pushedOut), 'queued', 'only a queued entry is pushed out');
            outcome.set(offer.pushedOut, 'pushed out');
          }
        }
      } else if (a.running > 0) {
        const next = a.done(clock);
        for (const e of next.expired) {
          assert.equal(outcome.get(e), 'queued');
          outcome.set(e, 'expired');
        }
        if (next.run !== undefined) {
          assert.equal(outcome.get(next.run), 'queued', 'only a queued entry is started');
          outcome.set(next.run, 'ran');
        }
      }
      assert.ok(a.running <= 3 && a.queued <= 12);
      const waiting = [...outcome.values()].filter((o) => o === 'queued').length;
      assert.equal(a.queued, waiting, 'the queue holds exactly the entries reported queued');
      if (a.queued > 0) assert.equal(a.running, 3, 'nothing waits while a slot is free');
    }
    const counts = new Map<string, number>();
    for (const o of outcome.values()) counts.set(o, (counts.get(o) ?? 0) + 1);
    for (const kind of ['ran', 'refused', 'pushed out', 'expired']) assert.ok((counts.get(kind) ?? 0) > 10, `${kind}: ${counts.get(kind)}`);
  });

  it('does not start an entry with less than `need` ms of its deadline left: it comes back expired', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 10 });
    a.offer('nas', 'running', 1000, at(0));
    a.offer('nas', 'old', 1000, at(0));
    a.offer('nas', 'young', 1500, at(500));
    // At 800, with 300 ms needed: old has 200 left, young 700.
    assert.deepEqual(a.done(at(800, 300)), { run: 'young', expired: ['old'] });
    assert.deepEqual(a.done(at(900, 300)), { run: undefined, expired: [] });
  });

  it('a full queue first drops what has expired, then takes the newcomer', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 2 });
    a.offer('nas', 'running', 1000, at(0));
    a.offer('nas', 'old1', 100, at(0));
    a.offer('nas', 'fresh', 5000, at(0));
    assert.deepEqual(a.offer('nas', 'new', 5000, at(200, 10)), { kind: 'queued', pushedOut: undefined, expired: ['old1'] });
    assert.deepEqual(runAll(a, at(200, 10)), ['fresh', 'new']);
  });

  it('drain empties the queue (shutdown) and leaves the running ones alone', () => {
    const a = new Admission<string>({ maxRunning: 1, maxQueued: 10 });
    a.offer('x', 'running', FAR, at(0));
    for (const id of ['1', '2']) a.offer('x', id, FAR, at(0));
    a.offer('y', '3', FAR, at(0));
    assert.deepEqual(a.drain().sort(), ['1', '2', '3']);
    assert.equal(a.queued, 0);
    assert.equal(a.running, 1);
    assert.deepEqual(a.done(at(0)), { run: undefined, expired: [] });
    assert.equal(a.offer('y', '4', FAR, at(0)).kind, 'run');
  });
});

describe('DurationEstimate', () => {
  it('follows the recent durations (exponentially weighted) and ignores nonsense', () => {
    const e = new DurationEstimate({ alpha: 0.5 });
    assert.equal(e.ms, 0);
    e.observe(100);
    assert.equal(e.ms, 50);
    e.observe(100);
    assert.equal(e.ms, 75);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) e.observe(bad);
    assert.equal(e.ms, 75);
    for (let i = 0; i < 50; i++) e.observe(10);
    assert.ok(Math.abs(e.ms - 10) < 0.01);
  });
});
