// The outpost behind a real Caddy (forward_auth), configured by config/examples/Caddyfile.demo.
import { peerSuite } from './cases.ts';

peerSuite('caddy');
