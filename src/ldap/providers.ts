// The LDAP providers one process serves, built from the provider lists of every LDAP outpost
// it runs: each with its directory, its bind cache and its TLS certificate. Rebuilt on each
// refresh; what did not change (directory snapshot, bind cache) is carried over by pk.
import { z } from 'zod';
import type { ApiGeneration } from '../agent/generation.ts';
import type { OutpostContext } from '../agent/listener.ts';
import type { KeyPair } from '../agent/certificates.ts';
import { flowMetricsFrom, type FlowDeps } from '../flow/index.ts';
import type { LdapOptions, Timing } from '../config/index.ts';
import { isWithin, normalizeAttributeType, parseDn, type Dn } from './protocol/index.ts';
import { LdapDirectory } from './directory/index.ts';
import { BindCache } from './bind/bind-cache.ts';
import type { LdapProviderConfig } from './provider-config.ts';

export interface ProviderInstance {
  readonly config: LdapProviderConfig;
  /** `pk`, the API generation and the serialised config: equal keys mean nothing changed. */
  readonly key: string;
  readonly outpost: OutpostContext;
  readonly base: Dn;
  readonly directory: LdapDirectory;
  /** Only in `bind_mode: cached`. */
  readonly bindCache: BindCache | undefined;
  readonly flow: FlowDeps;
  keyPair: KeyPair | undefined;
}

export interface OutpostProviders {
  readonly ctx: OutpostContext;
  readonly providers: readonly ProviderInstance[];
  /** The brand's invalidation flow, run with the bind's session on unbind (unless the provider has an unbind flow). */
  readonly invalidationFlow: string | undefined;
}

const brandSchema = z.object({ flow_invalidation: z.string().nullable().default(null) });

/** A user as `core/users/<pk>/` shows it; enough to tell whether a cached bind is still good. */
const userCheckSchema = z.object({ pk: z.number(), username: z.string(), is_active: z.boolean().default(false) });

export interface BuildOptions {
  readonly ldap: LdapOptions;
  readonly timing: Timing;
  /**
   * A cached bind left `provider`'s bind cache still owning its core session: end that session.
   * `provider` is the instance that made the cache; a later one may have taken it over.
   */
  readonly endCachedSession: (provider: ProviderInstance, coreSession: string) => void;
}

/**
 * Build the providers of one outpost. Throws when the list is empty or a cached directory
 * cannot be loaded: the caller keeps the previous set then.
 */
export async function buildOutpostProviders(
  ctx: OutpostContext,
  configs: readonly LdapProviderConfig[],
  previous: OutpostProviders | undefined,
  opts: BuildOptions,
): Promise<{ next: OutpostProviders; retired: ProviderInstance[] }> {
  if (configs.length === 0) throw new Error('no ldap provider defined');
  const log = ctx.logger;
  const old = new Map((previous?.providers ?? []).map((p) => [p.key, p]));
  const built: ProviderInstance[] = [];
  const fresh: ProviderInstance[] = [];
  try {
    for (const config of configs) {
      // A new API generation (an upgraded core) changes how binds are checked: build anew.
      const key = `${config.pk}:${ctx.generation}:${JSON.stringify(config)}`;
      const reuse = old.get(key);
      if (reuse) {
        old.delete(key);
        // Cached search mode: a new snapshot on every refresh (the old one serves meanwhile).
        await reuse.directory.refresh();
        built.push(reuse);
        continue;
      }
      const base = parseDn(config.base_dn);
      const directory = new LdapDirectory({ provider: config, api: ctx.api, nestedMemberOf: opts.ldap.nestedGroups, sizeLimit: opts.ldap.sizeLimit, logger: log });
      const instance: ProviderInstance = {
        config,
        key,
        outpost: ctx,
        base,
        directory,
        bindCache:
          config.bind_mode === 'cached'
            ? (carriedBindCache(previous, ctx, config) ?? new BindCache({ ttlMs: opts.ldap.bindCacheTtlMs, outageGraceMs: opts.ldap.bindCacheOutageGraceMs, max: 100_000, onSessionReleased: (session) => opts.endCachedSession(instance, session) }))
            : undefined,
        flow: { core: ctx.api, logger: log, metrics: flowMetricsFrom(ctx.metrics), attemptTimeoutMs: opts.timing.flowTimeoutMs, requestTimeoutMs: opts.timing.flowTimeoutMs },
        keyPair: undefined,
      };
      fresh.push(instance);
      await directory.start();
      built.push(instance);
    }
  } catch (err) {
    for (const p of fresh) p.directory.close();
    throw err;
  }

  for (const p of built) {
    if (!p.config.certificate) {
      p.keyPair = undefined;
      continue;
    }
    try {
      p.keyPair = await ctx.certificates.ensure(p.config.certificate);
    } catch (err) {
      log.warn({ provider: p.config.name, error: (err as Error).message }, 'cannot load the provider\'s certificate; serving the fallback certificate');
    }
  }
  ctx.certificates.retain(built.flatMap((p) => (p.config.certificate ? [p.config.certificate] : [])));

  let invalidationFlow = previous?.invalidationFlow;
  try {
    invalidationFlow = (await ctx.api.get('/core/brands/current/', brandSchema)).flow_invalidation ?? undefined;
  } catch (err) {
    log.warn({ error: (err as Error).message }, 'cannot read the brand\'s invalidation flow; unbinds keep the previous one');
  }

  await revalidateBindCaches(ctx, built);
  return { next: { ctx, providers: built, invalidationFlow }, retired: [...old.values()] };
}

/**
 * What a cached bind vouches for: the flow, the access check and the search permission it ran
 * with (the search group in 2024.4, the check_access endpoint's permission since 2024.8).
 */
function bindSettings(generation: ApiGeneration, c: LdapProviderConfig): string {
  return JSON.stringify([generation, c.base_dn, c.bind_flow_slug, c.application_slug, c.search_group, c.mfa_support]);
}

/**
 * A provider whose settings changed but not in what a bind depends on (e.g. its certificate
 * or search mode) keeps its cached binds, as authentik carries its session cache over by pk.
 */
function carriedBindCache(previous: OutpostProviders | undefined, ctx: OutpostContext, config: LdapProviderConfig): BindCache | undefined {
  const before = previous?.providers.find((p) => p.config.pk === config.pk);
  if (!previous || !before?.bindCache) return undefined;
  return bindSettings(previous.ctx.generation, before.config) === bindSettings(ctx.generation, config) ? before.bindCache : undefined;
}

/**
 * Drop cached binds of users that were deleted, deactivated or renamed since they bound. A
 * core that cannot be asked leaves the cache as it is (it then answers binds on its own).
 */
async function revalidateBindCaches(ctx: OutpostContext, providers: readonly ProviderInstance[]): Promise<void> {
  // Expired binds go now, with their core sessions, rather than at their DN's next bind.
  for (const p of providers) p.bindCache?.dropExpired();
  const caches = providers.flatMap((p) => (p.bindCache && p.bindCache.size > 0 ? [p.bindCache] : []));
  if (caches.length === 0) return;
  const pks = [...new Set(caches.flatMap((c) => [...c.userPks()]))];
  const verdict = new Map<number, string | null>();
  const queue = [...pks];
  await Promise.all(
    Array.from({ length: Math.min(8, queue.length) }, async () => {
      for (let pk = queue.shift(); pk !== undefined; pk = queue.shift()) {
        try {
          const user = await ctx.api.get(`/core/users/${pk}/`, userCheckSchema);
          verdict.set(pk, user.is_active ? user.username : null);
        } catch (err) {
          const status = (err as { status?: number }).status;
          if (status === 404) verdict.set(pk, null);
        }
      }
    }),
  );
  for (const cache of caches) {
    cache.retainUsers((pk, username) => {
      const v = verdict.get(pk);
      return v === undefined || v === username;
    });
  }
}

/** The provider with the longest base DN that holds `dn` (bind routing). */
export function providerForDn(dn: Dn, providers: readonly ProviderInstance[]): ProviderInstance | undefined {
  let best: ProviderInstance | undefined;
  for (const p of providers) {
    if (isWithin(dn, p.base) && (!best || p.base.length > best.base.length)) best = p;
  }
  return best;
}

/**
 * The username of a bind DN: the value of the first `cn` (or `uid`) RDN below the provider's
 * base, scanning from the left, as authentik takes the first `cn`.
 */
export function usernameOf(dn: Dn, base: Dn): string | undefined {
  for (const rdn of dn.slice(0, dn.length - base.length)) {
    for (const ava of rdn) {
      const type = normalizeAttributeType(ava.type);
      if ((type === 'cn' || type === 'uid') && ava.value !== '') return ava.value;
    }
  }
  return undefined;
}
