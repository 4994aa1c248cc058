export { ProxyServer, type ProxyRequestHandler, type ProxyServerOptions, type Scheme, type ServerTimeouts, type UpgradeConnection, upgradeResponse } from './server.ts';
