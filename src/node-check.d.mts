// Types for node-check.mjs, which stays plain JavaScript so that old Node versions can run it.
export function unmetNodeRequirement(version: string, range: string): string | undefined;
