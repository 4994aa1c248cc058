// The fallback TLS certificate, generated at start like authentik's: O=authentik,
// CN=authentik default certificate, SAN DNS `*`, valid one year, serverAuth.
//
// authentik uses RSA-2048; we default to ECDSA P-256: generating it takes about a millisecond
// instead of up to a second, and every TLS 1.2+ client supports ECDSA server certificates. Pass
// `keyType: 'rsa'` for a certificate like authentik's.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { webcrypto } from 'node:crypto';
// @peculiar/x509 needs the Reflect metadata API (through tsyringe); load it first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export interface SelfSignedOptions {
  readonly keyType?: 'ecdsa' | 'rsa';
  readonly validityDays?: number;
  readonly now?: Date;
}

export interface SelfSignedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A context with TLS 1.2 as the minimum version. */
  readonly secureContext: SecureContext;
}

export const SELF_SIGNED_ORGANIZATION = 'authentik';
export const SELF_SIGNED_COMMON_NAME = 'authentik default certificate';

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function generateSelfSignedCertificate(opts: SelfSignedOptions = {}): Promise<SelfSignedCertificate> {
  const alg =
    opts.keyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(opts.now ?? Date.now());
  notBefore.setMilliseconds(0);
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + 1);
  if (opts.validityDays !== undefined) notAfter.setTime(notBefore.getTime() + opts.validityDays * 86_400_000);
  const serial = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  serial[0] = serial[0]! & 0x7f || 0x01; // positive, no leading zero octet
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: [{ O: [SELF_SIGNED_ORGANIZATION] }, { CN: [SELF_SIGNED_COMMON_NAME] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: '*' }]),
    ],
  });
  const certPem = pem('CERTIFICATE', cert.rawData);
  const keyPem = pem('PRIVATE KEY', await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const secureContext = createSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
  return { certPem, keyPem, notBefore, notAfter, secureContext };
}
