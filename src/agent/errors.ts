// Typed failures of calls to the authentik core. Listeners map `kind` to their protocol's answer.
import type { z } from 'zod';

export type CoreErrorKind =
  /** connection refused/reset, DNS, TLS */
  | 'transport'
  /** the per-call deadline passed */
  | 'timeout'
  /** a non-2xx status */
  | 'status'
  /** the body was not JSON or did not have the shape we need */
  | 'invalid';

export class CoreError extends Error {
  override readonly name = 'CoreError';
  readonly kind: CoreErrorKind;
  readonly status: number | undefined;
  readonly path: string;

  constructor(kind: CoreErrorKind, path: string, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.path = path;
    this.status = opts.status;
  }
}

/**
 * Validate a body from the core. Unknown fields are dropped by the schemas, missing optional
 * fields get defaults, and a missing required field names itself: `results.0.pk: Required`.
 */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  const where = first && first.path.length > 0 ? first.path.join('.') : '(body)';
  const detail = first ? `${where}: ${first.message}` : result.error.message;
  throw new CoreError('invalid', path, `unexpected response from ${path}: ${detail}`);
}
