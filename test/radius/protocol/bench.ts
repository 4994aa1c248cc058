/**
 * Micro-benchmark (not a test): cost per Access-Request of decode + authenticate (MA) +
 * User-Password unhide + encode reply (MA first + Response Authenticator).
 * Run: node test/radius/protocol/bench.ts
 */

import {
  SharedSecret,
  authenticateRequest,
  decodePacket,
  decodeUserPassword,
  encodeReply,
  encodeRequest,
  getString,
  textAttribute,
  userPasswordAttribute,
} from '../../../src/radius/protocol/index.ts';

const SECRET = 'a-forty-character-shared-secret-0123456789';
const AUTH = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const request = encodeRequest({
  code: 1,
  identifier: 7,
  authenticator: AUTH,
  secret: SECRET,
  messageAuthenticator: true,
  attributes: [
    textAttribute(1, 'akadmin'),
    userPasswordAttribute('correct horse battery staple;123456', SECRET, AUTH),
    { type: 4, value: Buffer.from([10, 0, 0, 1]) },
    textAttribute(31, '00-11-22-33-44-55'),
    textAttribute(32, 'nas-01'),
    { type: 33, value: Buffer.from('proxy') },
  ],
});

function measure(name: string, n: number, fn: () => void): void {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(48)} ${(ns / 1000).toFixed(2).padStart(7)} µs/op  ${Math.round(1e9 / ns).toLocaleString('en').padStart(10)} op/s`);
}

let sink = 0;
measure('decodePacket', 500_000, () => {
  const r = decodePacket(request);
  if (r.ok) sink += r.packet.attributes.length;
});
const decoded = decodePacket(request);
if (!decoded.ok) throw new Error(decoded.detail);
const p = decoded.packet;
measure('authenticateRequest (MA HMAC-MD5)', 300_000, () => {
  if (authenticateRequest(p, SECRET).ok) sink++;
});
measure('decodeUserPassword (48-byte value)', 300_000, () => {
  if (decodeUserPassword(p, SECRET).ok) sink++;
});
measure('encodeReply (MA first + Response Authenticator)', 300_000, () => {
  sink += encodeReply(p, { code: 2, secret: SECRET }).length;
});
measure('full: decode + verify + unhide + encode', 200_000, () => {
  const r = decodePacket(request);
  if (!r.ok) return;
  if (!authenticateRequest(r.packet, SECRET).ok) return;
  const user = getString(r.packet.attributes, 1);
  const pw = decodeUserPassword(r.packet, SECRET);
  if (user.ok && pw.ok) sink += encodeReply(r.packet, { code: 2, secret: SECRET }).length;
});
const prepared = new SharedSecret(SECRET);
measure('full, with a prepared SharedSecret', 200_000, () => {
  const r = decodePacket(request);
  if (!r.ok) return;
  if (!authenticateRequest(r.packet, prepared).ok) return;
  const user = getString(r.packet.attributes, 1);
  const pw = decodeUserPassword(r.packet, prepared);
  if (user.ok && pw.ok) sink += encodeReply(r.packet, { code: 2, secret: prepared }).length;
});
console.log(`(sink ${sink}, node ${process.version}, request ${request.length} bytes)`);
