// The listeners this build carries, by outpost type, each loaded when an outpost of its type
// first appears. An outpost whose type is not here is skipped with one log line.
import type { ListenerPlugin, ListenerSource } from './agent/listener.ts';

export const PLUGINS: readonly ListenerSource[] = [
  { type: 'ldap', load: async () => (await import('./ldap/listener.ts')).ldapPlugin as ListenerPlugin },
  { type: 'radius', load: async () => (await import('./radius/listener.ts')).radiusPlugin as ListenerPlugin },
  { type: 'proxy', load: async () => (await import('./proxy/listener.ts')).proxyPlugin as ListenerPlugin },
];
