export { ProxyServer, type ProxyRequestHandler, type ProxyServerOptions, type Scheme, type ServerTimeouts } from './server.ts';
