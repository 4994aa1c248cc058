// The outpost behind a real nginx (auth_request), configured by config/examples/nginx-demo.conf.
import { peerSuite } from './cases.ts';

peerSuite('nginx');
