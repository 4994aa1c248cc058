// Not a test: rough heap bytes per session in MemorySessionStore, with claims shaped like the
// 2026.8 ones (a ~1 KB raw token, three groups, a few attributes).
//   node --expose-gc test/proxy/sessions/measure-memory.ts [count]
import { randomBytes } from 'node:crypto';
import { MemorySessionStore } from '../../../src/proxy/sessions/memory.ts';

const count = Number(process.argv[2] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function claims(i: number) {
  return {
    sub: randomBytes(32).toString('hex'),
    exp: 1_900_000_000 + i,
    email: `user${i}@example.com`,
    email_verified: true,
    name: `User Number ${i}`,
    preferred_username: `user${i}`,
    groups: ['authentik Admins', 'staff', `team-${i % 20}`],
    entitlements: [],
    sid: randomBytes(32).toString('hex'),
    ak_proxy: { user_attributes: { additionalHeaders: { 'X-Team': `team-${i % 20}` } }, backend_override: '', host_header: '', is_superuser: false },
    raw_token: randomBytes(768).toString('base64url'), // ~1 KB, like an HS256 access token
  };
}

const store = new MemorySessionStore({ maxEntries: count, sweepIntervalMs: 0 });
// Build the inputs first so only what the store holds beyond them is counted separately.
const inputs = Array.from({ length: count }, (_, i) => ({ id: randomBytes(32).toString('base64url'), claims: claims(i) }));
gc();
const base = process.memoryUsage().heapUsed;
for (const { id, claims: c } of inputs) {
  await store.set(id, { claims: c, createdAt: Date.now(), expiresAt: Date.now() + 3_600_000, providerPk: 1, outpostPk: "o", rawToken: "x".repeat(1024) }, 3_600_000);
}
gc();
const withStore = process.memoryUsage().heapUsed;
console.log(`store overhead (entries + LRU map + sid/sub indexes): ${((withStore - base) / count).toFixed(0)} B/session`);
// Now count the session data too: drop our references to the inputs.
inputs.length = 0;
gc();
const empty = new MemorySessionStore({ sweepIntervalMs: 0 });
await store.close();
gc();
const after = process.memoryUsage().heapUsed;
console.log(`total incl. claims: ${((withStore - after) / count).toFixed(0)} B/session; ${count} sessions ≈ ${((withStore - after) / 1048576).toFixed(1)} MB`);
await empty.close();
