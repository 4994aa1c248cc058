// One provider compiled for serving (style (b)3): built once in `apply()`, looked up per request.
// Everything a request needs that depends only on the configuration lives here: the OIDC client,
// the cookie name and attributes, the skip matcher, the upstream target.
import type { CoreApi } from '../../agent/core-api.ts';
import type { Logger } from '../../log.ts';
import { configurationErrorReporter, type ConfigurationErrorReporter } from '../config-error-events.ts';
import { OidcClient, type OidcDeps } from '../oidc/index.ts';
import { compileSkip, externalUrl, normalizedCookieDomain, sessionCookieName, type ProxyProviderConfig, type SkipMatcher } from '../protocol/index.ts';

export interface ProxyApp {
  readonly config: ProxyProviderConfig;
  readonly outpostName: string;
  /** The outpost's pk (SESSION_END and logouts are per outpost). */
  readonly outpostPk: string;
  readonly external: URL;
  readonly oidc: OidcClient;
  readonly cookieName: string;
  /** `Domain` for forward_domain (the cookie domain), else undefined (host-only). */
  readonly cookieDomain: string | undefined;
  readonly secureCookie: boolean;
  readonly skip: SkipMatcher;
  /** Proxy mode: the upstream origin (scheme and host:port of `internal_host`). */
  readonly upstream: URL | undefined;
  /** The longest a session may live (access_token_validity), seconds; undefined = the token's exp. */
  readonly maxSessionSeconds: number | undefined;
  /** Where sign-out and session pages live: `<ext>/outpost.goauthentik.io`. */
  readonly outpostBase: string;
  /** configuration_error events to the outpost's core (rate-limited per provider across refreshes). */
  readonly configErrors: ConfigurationErrorReporter;
}

export interface CompileOptions {
  outpostName: string;
  outpostPk: string;
  oidc: OidcDeps;
  /** The outpost's core API client (events). */
  api: Pick<CoreApi, 'post'>;
  logger: Logger;
}

export class AppConfigError extends Error {
  override readonly name = 'AppConfigError';
}

/** `value` as an http(s) URL, or undefined. */
function httpUrl(value: string): URL | undefined {
  const u = URL.parse(value.trim());
  return u && (u.protocol === 'http:' || u.protocol === 'https:') ? u : undefined;
}

/** Throws `AppConfigError` when the provider cannot be served (the caller skips it, with a log line). */
export function compileApp(config: ProxyProviderConfig, opts: CompileOptions): ProxyApp {
  const external = externalUrl(config);
  if (!external) throw new AppConfigError(`external_host "${config.external_host}" is not an absolute http(s) URL`);
  let upstream: URL | undefined;
  if (config.mode === 'proxy') {
    const u = httpUrl(config.internal_host);
    if (!u) throw new AppConfigError(`internal_host "${config.internal_host}" is not an http(s) URL`);
    upstream = new URL(u.origin);
  }
  // The client parses these once (a garbage one must skip this provider, not fail the refresh of
  // every provider with a TypeError).
  for (const field of ['authorization_endpoint', 'token_endpoint', 'introspection_endpoint'] as const) {
    const value = config.oidc_configuration[field];
    if (!httpUrl(value)) throw new AppConfigError(`oidc_configuration.${field} "${value.slice(0, 200)}" is not an http(s) URL`);
  }
  const oidc = new OidcClient(
    {
      clientId: config.client_id,
      clientSecret: config.client_secret,
      externalHost: external.toString(),
      scopes: config.scopes_to_request.length > 0 ? config.scopes_to_request : ['openid', 'profile', 'email', 'ak_proxy'],
      oidc: {
        issuer: config.oidc_configuration.issuer,
        authorization_endpoint: config.oidc_configuration.authorization_endpoint,
        token_endpoint: config.oidc_configuration.token_endpoint,
        end_session_endpoint: config.oidc_configuration.end_session_endpoint,
        introspection_endpoint: config.oidc_configuration.introspection_endpoint,
        jwks_uri: config.oidc_configuration.jwks_uri,
        id_token_signing_alg_values_supported: config.oidc_configuration.id_token_signing_alg_values_supported,
      },
    },
    opts.oidc,
  );
  const skip = compileSkip(config);
  for (const bad of skip.invalid) opts.logger.warn({ provider: config.name, line: bad.line, regex: bad.pattern, error: bad.error }, 'skip_path_regex line does not compile; ignored');
  const domain = config.mode === 'forward_domain' ? normalizedCookieDomain(config) : '';
  const validity = config.access_token_validity;
  return {
    config,
    outpostName: opts.outpostName,
    outpostPk: opts.outpostPk,
    external,
    oidc,
    cookieName: sessionCookieName(config.client_id),
    cookieDomain: domain === '' ? undefined : domain,
    secureCookie: external.protocol === 'https:',
    skip,
    upstream,
    maxSessionSeconds: validity !== null && validity > 0 ? Math.floor(validity) : undefined,
    outpostBase: `${external.origin}${external.pathname.replace(/\/+$/, '')}/outpost.goauthentik.io`,
    configErrors: configurationErrorReporter(opts.api, opts.logger),
  };
}
