// Flow timings into the agent's histograms (`authentik_outpost_flow_timing_{get,post}_seconds`).
import type { AgentMetrics } from '../agent/metrics.ts';
import type { FlowMetrics } from './executor.ts';

/**
 * The `stage` label is the component the core answered with, a free string: each distinct value
 * is a series kept for the life of the process. authentik has a few dozen components; a core that
 * sends other names (or a megabyte of text) gets them counted under `other`, not one series each.
 */
export const MAX_STAGE_LABELS = 64;
const STAGE_LABEL = /^[a-z][a-z0-9-]{0,63}$/;
export const OTHER_STAGE = 'other';

/** The stage labels in use, per registry (flowMetricsFrom is called on every refresh). */
const stagesOf = new WeakMap<AgentMetrics, Set<string>>();

export function flowMetricsFrom(metrics: AgentMetrics): FlowMetrics {
  let stages = stagesOf.get(metrics);
  if (stages === undefined) stagesOf.set(metrics, (stages = new Set()));
  const seen = stages;
  const label = (stage: string): string => {
    if (seen.has(stage)) return stage;
    if (!STAGE_LABEL.test(stage) || seen.size >= MAX_STAGE_LABELS) return OTHER_STAGE;
    seen.add(stage);
    return stage;
  };
  return {
    observeGet: (flow, stage, seconds) => metrics.flowGet.observe({ flow, stage: label(stage) }, seconds),
    observePost: (flow, stage, seconds) => metrics.flowPost.observe({ flow, stage: label(stage) }, seconds),
  };
}
