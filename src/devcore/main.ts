// `npm run devcore`: run the development core from the command line.
// Env: DEVCORE_SEED (default config/demo.yaml), DEVCORE_LISTEN (default 127.0.0.1:9900), DEMO_USERS,
// DEVCORE_AUTHENTIK_VERSION (2024.4 or 2026.8, the API generation served; default 2026.8).
import { createRootLogger } from '../log.ts';
import { startDevCore } from './index.ts';
import { SeedError } from './seed.ts';

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`DEVCORE_LISTEN must be host:port, got "${value}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`DEVCORE_LISTEN port out of range: ${port}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

const logger = createRootLogger({ level: process.env['DEVCORE_LOG_LEVEL'] ?? 'info' });
const seedPath = process.env['DEVCORE_SEED'] || new URL('../../config/demo.yaml', import.meta.url).pathname;
const extraRaw = process.env['DEMO_USERS'] ?? '';

try {
  const { host, port } = parseListen(process.env['DEVCORE_LISTEN'] || '127.0.0.1:9900');
  const extraUsers = extraRaw === '' ? 0 : Number(extraRaw);
  if (!Number.isInteger(extraUsers) || extraUsers < 0) throw new Error(`DEMO_USERS must be a whole number, got "${extraRaw}"`);
  // startDevCore logs one line with the URL and the outposts' names (their tokens are in the seed).
  const core = await startDevCore({ seed: seedPath, host, port, logger, extraUsers });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ logger: 'devcore', signal }, 'stopping');
    core.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  const message = err instanceof SeedError ? err.message : `cannot start the development core: ${(err as Error).message}`;
  logger.error({ logger: 'devcore' }, message);
  // pino writes asynchronously; give it a moment before exiting.
  setTimeout(() => process.exit(2), 100);
}
