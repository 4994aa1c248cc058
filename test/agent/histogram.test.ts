// The outpost's histogram exports what prom-client's own Histogram exports for the same
// observations: the same text exposition and the same JSON (what workers send the primary).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import PromHistogram from 'prom-client/lib/histogram.js';
import type * as Prom from 'prom-client';
import { Histogram } from '../../src/agent/histogram.ts';
import { Registry } from '../../src/agent/prom.ts';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const Reference = PromHistogram as typeof Prom.Histogram;

type Labels = Partial<Record<'method' | 'host' | 'code', string | number>>;
const OBSERVATIONS: [Labels, number][] = [
  [{ method: 'GET', host: 'app.example.com' }, 0.0004],
  [{ method: 'GET', host: 'app.example.com' }, 0.001],
  [{ method: 'GET', host: 'app.example.com' }, 0.0011],
  [{ host: 'app.example.com', method: 'GET' }, 7],
  [{ method: 'HEAD', host: 'app.example.com' }, 31],
  [{ method: 'GET', host: 'x"y\\z\nw' }, 0.2],
  [{ method: 'GET', host: 'a', code: 200 }, 0.03],
  [{ method: 'GET', host: 'a', code: '200' }, 0.04],
  [{ method: 'GET' }, 0],
  [{ code: 404, host: 'b', method: 'POST' }, 0.07],
  [{}, 2.5],
];

function both(): { ours: Registry; reference: Registry; mine: Histogram<'method' | 'host' | 'code'>; theirs: Prom.Histogram<'method' | 'host' | 'code'> } {
  const ours = new Registry();
  const reference = new Registry();
  const opts = { name: 'h_seconds', help: 'a "histogram"\\n', labelNames: ['method', 'host', 'code'] as const, buckets: BUCKETS };
  const mine = new Histogram({ ...opts, registers: [ours] });
  const theirs = new Reference({ ...opts, labelNames: [...opts.labelNames], registers: [reference] });
  return { ours, reference, mine, theirs };
}

describe('Histogram', () => {
  it('exports the text and the JSON prom-client exports for the same observations', async () => {
    const { ours, reference, mine, theirs } = both();
    for (const [labels, v] of OBSERVATIONS) {
      mine.observe(labels, v);
      theirs.observe(labels, v);
    }
    assert.equal(await ours.metrics(), await reference.metrics());
    const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown;
    assert.deepEqual(await json(ours), await json(reference));
  });

  it('a kept series counts into the same export as observe()', async () => {
    const { ours, reference, mine, theirs } = both();
    const series = mine.labelled({ method: 'GET', host: 'h' });
    for (const v of [0.002, 0.3, 0.3, 12]) {
      series.observe(v);
      theirs.observe({ method: 'GET', host: 'h' }, v);
    }
    mine.observe({ host: 'h', method: 'GET' }, 1);
    theirs.observe({ method: 'GET', host: 'h' }, 1);
    assert.equal(await ours.metrics(), await reference.metrics());
  });

  it('refuses what prom-client refuses: an unknown label, a value that is not a finite number', () => {
    const { mine } = both();
    assert.throws(() => mine.observe({ method: 'GET', nope: 'x' } as Labels, 1), /not included in initial labelset/);
    assert.throws(() => mine.observe({ method: 'GET' }, Number.NaN), /not a valid number/);
    assert.throws(() => mine.observe({ method: 'GET' }, Infinity), /not a valid number/);
  });

  it('refuses an unknown label also once the known ones already have a series', () => {
    const { mine, theirs } = both();
    mine.observe({ method: 'GET' }, 1);
    theirs.observe({ method: 'GET' }, 1);
    assert.throws(() => theirs.observe({ method: 'GET', nope: 'x' } as Labels, 1), /not included in initial labelset/);
    assert.throws(() => mine.observe({ method: 'GET', nope: 'x' } as Labels, 1), /not included in initial labelset/);
    assert.throws(() => mine.labelled({ method: 'GET', nope: 'x' } as Labels), /not included in initial labelset/);
  });
});
