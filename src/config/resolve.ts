// authentik's URI forms for config values: `env://NAME?fallback` and `file:///path?fallback`.
import { readFileSync } from 'node:fs';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Resolve one value. `what` names the variable in errors. A fallback after `?` is used when the
 * referenced variable is unset or the file cannot be read, as authentik does.
 */
export function resolveValue(raw: string, what: string, env: NodeJS.ProcessEnv, depth = 0): string {
  if (depth > 4) throw new ConfigError(`${what}: env:// references nest too deeply`);
  if (raw.startsWith('env://')) {
    const { target, fallback } = splitFallback(raw.slice('env://'.length));
    const value = env[target];
    if (value === undefined || value === '') {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${what}: env://${target} refers to an unset variable`);
    }
    return resolveValue(value, target, env, depth + 1);
  }
  if (raw.startsWith('file://')) {
    const { target, fallback } = splitFallback(raw.slice('file://'.length));
    try {
      return readFileSync(target, 'utf8').trim();
    } catch (err) {
      if (fallback !== undefined) return fallback;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`${what}: cannot read ${target} (${code})`);
    }
  }
  return raw;
}

function splitFallback(rest: string): { target: string; fallback: string | undefined } {
  const q = rest.indexOf('?');
  return q < 0 ? { target: rest, fallback: undefined } : { target: rest.slice(0, q), fallback: rest.slice(q + 1) };
}
