// Certificate-keypairs from the core, cached by fingerprint. Listeners call `ensure` on every
// refresh, so a rotated certificate (new fingerprint) is fetched again; an unchanged one costs
// one small GET. (authentik's Go store never re-checks a keypair it has seen once.)
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import type { CoreApi } from './core-api.ts';
import { CoreError } from './errors.ts';
import { certificateDataSchema, certificateKeyPairSchema } from './schemas.ts';

export interface KeyPair {
  readonly uuid: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly certificatePem: string;
  /** Only when the keypair has a private key; without one it cannot serve TLS. */
  readonly secureContext: SecureContext | undefined;
}

export class CertificateStore {
  private readonly cache = new Map<string, KeyPair>();
  private readonly api: CoreApi;
  private readonly logger: Logger;

  constructor(api: CoreApi, logger: Logger) {
    this.api = api;
    this.logger = logger;
  }

  /** The cached keypair without asking the core. */
  peek(uuid: string): KeyPair | undefined {
    return this.cache.get(uuid);
  }

  /**
   * The keypair, fetched again when its fingerprint changed. When the core cannot be asked, a
   * cached copy is served (with a warning) rather than failing the refresh.
   */
  async ensure(uuid: string): Promise<KeyPair> {
    const base = `/crypto/certificatekeypairs/${encodeURIComponent(uuid)}/`;
    const cached = this.cache.get(uuid);
    let meta;
    try {
      meta = await this.api.get(base, certificateKeyPairSchema);
    } catch (err) {
      if (cached) {
        this.logger.warn({ certificate: cached.name, error: (err as Error).message }, 'cannot check certificate; serving the cached copy');
        return cached;
      }
      throw err;
    }
    const fingerprint = meta.fingerprint_sha256 ?? '';
    if (cached && fingerprint !== '' && cached.fingerprint === fingerprint) return cached;

    const cert = await this.api.get(`${base}view_certificate/`, certificateDataSchema);
    let key = '';
    if (meta.private_key_available) key = (await this.api.get(`${base}view_private_key/`, certificateDataSchema)).data;
    let secureContext: SecureContext | undefined;
    if (key !== '') {
      try {
        secureContext = createSecureContext({ cert: cert.data, key });
      } catch (err) {
        // The message of a TLS error names the problem, never the key material.
        throw new CoreError('invalid', base, `certificate "${meta.name}" cannot be used for TLS: ${(err as Error).message}`);
      }
    }
    const pair: KeyPair = { uuid, name: meta.name, fingerprint, certificatePem: cert.data, secureContext };
    this.cache.set(uuid, pair);
    this.logger.info({ certificate: meta.name, fingerprint }, cached ? 'certificate changed; reloaded' : 'loaded certificate');
    return pair;
  }

  /** Forget keypairs that no provider references any more. */
  retain(uuids: Iterable<string>): void {
    const keep = new Set(uuids);
    for (const uuid of this.cache.keys()) if (!keep.has(uuid)) this.cache.delete(uuid);
  }
}
