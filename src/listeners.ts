// The listeners this build carries, by outpost type. An outpost whose type is not here is
// skipped with one log line.
import type { ListenerPlugin } from './agent/listener.ts';
import { ldapPlugin } from './ldap/listener.ts';
import { proxyPlugin } from './proxy/listener.ts';
import { radiusPlugin } from './radius/listener.ts';

export const PLUGINS: readonly ListenerPlugin[] = [ldapPlugin as ListenerPlugin, radiusPlugin as ListenerPlugin, proxyPlugin as ListenerPlugin];
