// The last answer on a connection that will not be read as HTTP any more (an upgrade refused,
// a relay's error page): closed gracefully, not at once.
import type { Duplex } from 'node:stream';

/** How long a connection being closed may take to flush and see its peer close. */
export const CLOSE_GRACE_MS = 5000;

const ignore = () => {};

/**
 * Ends `socket` after `last`. What the peer still sends is read and dropped, so that unread
 * bytes cannot turn the close into a reset that loses the answer; destroyed after
 * CLOSE_GRACE_MS when the peer never closes its side.
 */
export function answerAndClose(socket: Duplex, last?: string): void {
  socket.on('error', ignore);
  socket.on('data', ignore);
  socket.resume();
  if (last === undefined) socket.end();
  else socket.end(last);
  const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
