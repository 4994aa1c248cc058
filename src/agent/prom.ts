// The prom-client classes the outpost uses (and its own Histogram), imported from their own files: prom-client's
// index also loads its cluster aggregator (node:cluster, child processes) and its default
// process metrics, about 13 MB of memory at rest that no listener needs. Types come from the
// package itself; only the primary of several worker processes loads the index (for
// AggregatorRegistry).
import type * as Prom from 'prom-client';
import RegistryClass from 'prom-client/lib/registry.js';
import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';

export const Registry = RegistryClass as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = CounterClass as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = GaugeClass as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
// Histograms are the outpost's own (histogram.ts): prom-client's observe is slow on hot paths.
export { Histogram } from './histogram.ts';
