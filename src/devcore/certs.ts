// Real self-signed X.509 certificates for the dev core's certificate-keypair API, built with
// @peculiar/x509 over Node's WebCrypto. Fingerprints are formatted like authentik's
// CertificateKeyPair (lower-case hex pairs joined by ':').
import { createHash, X509Certificate as NodeX509, type webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 needs the Reflect metadata API (through tsyringe); load it first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export type KeyType = 'ecdsa' | 'rsa';

export interface CertificateSpec {
  commonName: string;
  sans: string[];
  keyType: KeyType;
  validityDays: number;
}

export interface GeneratedKeypair {
  certPem: string;
  keyPem: string;
  fingerprintSha256: string;
  fingerprintSha1: string;
  /** `notAfter` as authentik renders it (`2025-01-01T00:00:00Z`). */
  certExpiry: string;
  /** RFC 4514 subject, e.g. `CN=ldap.demo.local`. */
  certSubject: string;
  /** `rsa` or `ecdsa`, as authentik's `private_key_type`. */
  privateKeyType: KeyType;
}

function colonHex(buf: Buffer): string {
  return buf.toString('hex').match(/../g)?.join(':') ?? '';
}

function pemWrap(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** DRF renders UTC datetimes with a trailing `Z` and no fraction when there is none. */
export function drfDate(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

export async function generateKeypair(spec: CertificateSpec): Promise<GeneratedKeypair> {
  const alg =
    spec.keyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await globalThis.crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  notBefore.setMilliseconds(0);
  const notAfter = new Date(notBefore.getTime() + spec.validityDays * 86_400_000);
  const names = spec.sans.map((v) => ({ type: isIP(v) ? ('ip' as const) : ('dns' as const), value: v }));
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${spec.commonName}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions,
  });
  const der = Buffer.from(cert.rawData);
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certPem = pemWrap('CERTIFICATE', cert.rawData);
  // Sanity: Node must be able to read what we produced (it is what the outposts' TLS uses).
  const parsed = new NodeX509(certPem);
  return {
    certPem,
    keyPem: pemWrap('PRIVATE KEY', pkcs8),
    fingerprintSha256: colonHex(createHash('sha256').update(der).digest()),
    fingerprintSha1: colonHex(createHash('sha1').update(der).digest()),
    certExpiry: drfDate(new Date(parsed.validTo)),
    certSubject: `CN=${spec.commonName}`,
    privateKeyType: spec.keyType,
  };
}
