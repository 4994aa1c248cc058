// Flow timings into the agent's histograms (`authentik_outpost_flow_timing_{get,post}_seconds`).
import type { AgentMetrics } from '../agent/metrics.ts';
import type { FlowMetrics } from './executor.ts';

export function flowMetricsFrom(metrics: AgentMetrics): FlowMetrics {
  return {
    observeGet: (flow, stage, seconds) => metrics.flowGet.observe({ flow, stage }, seconds),
    observePost: (flow, stage, seconds) => metrics.flowPost.observe({ flow, stage }, seconds),
  };
}
