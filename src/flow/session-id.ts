// authentik's id for a core session, as its SESSION_END websocket message and the `sid` claim of
// its ID tokens carry it: the hex SHA-256 of the session key. The `authentik_session` cookie is
// an HS256 JWT whose `sid` claim is that key. The signature is not checked (the outpost has no
// key, and only matches sessions with it: it never grants anything on its strength).
import { createHash } from 'node:crypto';

/** Cookies longer than this are not authentik's; they are not parsed. */
const MAX_COOKIE_LENGTH = 4096;

export function sessionIdOf(cookieValue: string): string | undefined {
  if (cookieValue.length > MAX_COOKIE_LENGTH) return undefined;
  const parts = cookieValue.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const sid = typeof payload === 'object' && payload !== null ? (payload as { sid?: unknown }).sid : undefined;
  if (typeof sid !== 'string' || sid === '') return undefined;
  return createHash('sha256').update(sid, 'ascii').digest('hex');
}
