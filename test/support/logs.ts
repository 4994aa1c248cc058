// A logger whose JSON lines are kept for assertions (and checked for leaked secrets).
import { Writable } from 'node:stream';
import { createRootLogger, type Logger } from '../../src/log.ts';

export interface CapturedLogs {
  logger: Logger;
  lines: Record<string, unknown>[];
  raw: string[];
  has(event: RegExp): boolean;
}

export function captureLogs(level = 'debug'): CapturedLogs {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const logger = createRootLogger({ level, destination: stream });
  return { logger, lines, raw, has: (event) => lines.some((l) => typeof l['event'] === 'string' && event.test(l['event'])) };
}
