// Where a bind DN goes: its provider, the username and the bind-cache key (the canonical DN).
// A pure function of the DN string and the provider set, so it is remembered per DN string
// until the providers change: clients bind with the same few DNs over and over (a service
// account, the users of one host), and parsing and normalising a DN cost more than the rest of
// a cached bind. Bounded: past `max` strings the oldest is forgotten, and only DNs a provider
// serves, of at most MAX_REMEMBERED_LENGTH characters, are remembered (a bind DN comes from the
// client: junk or huge DNs only cost it the parse again, never memory of ours).
import { normalizeDn, parseDn } from '../protocol/index.ts';
import { providerForDn, usernameOf, type ProviderInstance } from '../providers.ts';

export type BindTarget =
  | { readonly kind: 'ok'; readonly provider: ProviderInstance; readonly username: string; readonly cacheKey: string }
  /** Not a DN (invalidDNSyntax). */
  | { readonly kind: 'invalid' }
  /** No provider's base holds it, or no `cn=`/`uid=` below the base (insufficientAccessRights). */
  | { readonly kind: 'unserved'; readonly provider: ProviderInstance | undefined };

const INVALID: BindTarget = { kind: 'invalid' };

/** Real bind DNs are far shorter; a longer one is resolved on every bind. */
const MAX_REMEMBERED_LENGTH = 1024;

export class BindTargets {
  private readonly known = new Map<string, BindTarget>();
  private providers: readonly ProviderInstance[] = [];
  private readonly max: number;

  constructor(max = 10_000) {
    this.max = max;
  }

  /** The providers changed: every answer may have too. */
  reset(providers: readonly ProviderInstance[]): void {
    this.providers = providers;
    this.known.clear();
  }

  resolve(name: string): BindTarget {
    let t = this.known.get(name);
    if (t !== undefined) return t;
    t = this.compute(name);
    if (t.kind !== 'ok' || name.length > MAX_REMEMBERED_LENGTH) return t;
    if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value!);
    this.known.set(name, t);
    return t;
  }

  private compute(name: string): BindTarget {
    let dn;
    try {
      dn = parseDn(name);
    } catch {
      return INVALID;
    }
    const provider = providerForDn(dn, this.providers);
    const username = provider && usernameOf(dn, provider.base);
    if (!provider || !username) return { kind: 'unserved', provider };
    return { kind: 'ok', provider, username, cacheKey: normalizeDn(dn) };
  }
}
