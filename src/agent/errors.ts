// Typed failures of calls to the authentik core. Whether one means "the core failed" (LDAP
// unavailable, RADIUS no answer) or is an answer about the user is decided in one place:
// `coreFailure` in flow/core-failure.ts.
import type { z } from 'zod';
import { HttpError } from '../net/http.ts';

/** An `HttpError` from a call to the core (`exchange` builds it through `errorClass`). */
export class CoreError extends HttpError {
  override readonly name: string = 'CoreError';

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
