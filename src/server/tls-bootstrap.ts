// The server's TLS material when no --tls-cert is given: a private CA and a server certificate signed by it,
// made on first start and kept in the server's state directory, so kubeconfigs written once keep working across
// restarts. HTTPS is not optional: kubectl sends a bearer token only over TLS (over http it sends no
// Authorization header at all), so an http server could authenticate nobody.
//
// node:crypto makes keys but cannot issue X.509 certificates; @peculiar/x509 (maintained by PeculiarVentures,
// WebCrypto-based, no native code) signs them with node's own WebCrypto, so no openssl binary is needed at run
// time. Keys are ECDSA P-256 (Go's crypto/tls, i.e. kubectl, and Node both accept them).
//
// Files (keys written with mode 0600 into a 0700 directory, through a temporary file and a rename so a crash
// never leaves half a key):
//   ca.crt ca.key          the CA; its certificate goes into kubeconfigs as certificate-authority-data
//   server.crt server.key  the serving certificate: SANs localhost, 127.0.0.1, ::1 and the --listen host;
//                          re-issued (from the same CA) when the listen host is not among its SANs

import { webcrypto } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

// The library types itself against the DOM's WebCrypto; node's is the same API under node:crypto's names.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CA_YEARS = 10;
const SERVER_YEARS = 2;

export interface TlsMaterial {
  /** PEM */
  cert: string;
  key: string;
  /** PEM of the CA clients should trust; undefined for a --tls-cert given by the operator. */
  ca?: string;
  /** Whether this start created the CA (first start): the admin kubeconfig is then new too. */
  createdCa: boolean;
}

/** Writes `data` to `path` with `mode`, atomically (a temporary file, then a rename). */
export async function writePrivateFile(path: string, data: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  // A stale temporary file (or a link planted under its name) is removed, not followed: `wx` creates anew.
  await unlink(tmp).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err; });
  await writeFile(tmp, data, { mode, flag: 'wx' });
  await chmod(tmp, mode); // the umask may have narrowed it
  await rename(tmp, path);
}

/** The server's state directory cannot be trusted: its owner or mode lets others plant keys or tokens. */
export class UntrustedStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedStateError';
  }
}

const myUid = (): number | undefined => (typeof process.getuid === 'function' ? process.getuid() : undefined);

/**
 * Makes `dir` (mode 0700) or checks the one there: a directory, not a link, owned by this user and writable by
 * no one else. The server adopts the CA key and admin token it finds there, so a directory others could write
 * would let them choose the admin token.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = myUid();
  if (!st.isDirectory()) throw new UntrustedStateError(`${dir} is not a directory (a link or a file is not used for keys and tokens)`);
  if (uid !== undefined && st.uid !== uid) throw new UntrustedStateError(`${dir} belongs to uid ${st.uid}, not to this user (${uid}); not using its keys and tokens`);
  if ((st.mode & 0o022) !== 0) {
    throw new UntrustedStateError(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); not using its keys and tokens (chmod 700 it, after checking its files)`);
  }
}

/** A private file of the state directory, or undefined when absent; refused when not ours or readable by others. */
export async function readPrivateFile(path: string, mode: 'private' | 'public' = 'private'): Promise<string | undefined> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const uid = myUid();
  if (!st.isFile()) throw new UntrustedStateError(`${path} is not a regular file`);
  if (uid !== undefined && st.uid !== uid) throw new UntrustedStateError(`${path} belongs to uid ${st.uid}, not to this user (${uid})`);
  if ((st.mode & (mode === 'private' ? 0o077 : 0o022)) !== 0) {
    throw new UntrustedStateError(`${path} has mode ${(st.mode & 0o777).toString(8)}; a ${mode === 'private' ? 'key or token must be 600' : 'certificate must not be writable by others'}`);
  }
  return readFile(path, 'utf8');
}

const readOptional = (path: string): Promise<string | undefined> => readPrivateFile(path, path.endsWith('.crt') ? 'public' : 'private');

function pem(label: string, der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
}

async function importKey(text: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(text);
  return await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, ['sign']);
}

function yearsFromNow(years: number): Date {
  const d = new Date();
  d.setFullYear(d.getFullYear() + years);
  return d;
}

/** An hour back, so a client whose clock is a little behind does not reject a certificate made just now. */
function notBefore(): Date {
  return new Date(Date.now() - 60 * 60 * 1000);
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function makeCa(): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=tabby-server-ca', keys, signingAlgorithm: SIGNING, notBefore: notBefore(), notAfter: yearsFromNow(CA_YEARS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, key: keys.privateKey };
}

/** The names a client may use to reach `host`: always the loopback names, and the listen host itself. */
export function serverNames(host: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1']);
  if (host !== '' && host !== '0.0.0.0' && host !== '::') names.add(host);
  return [...names];
}

async function makeServerCert(
  ca: { cert: x509.X509Certificate; key: CryptoKey }, names: readonly string[],
): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    subject: 'CN=tabby-server', issuer: ca.cert.subject, publicKey: keys.publicKey, signingKey: ca.key,
    signingAlgorithm: SIGNING, notBefore: notBefore(), notAfter: yearsFromNow(SERVER_YEARS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: isIP(n) ? 'ip' : 'dns', value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });
  return { cert, key: keys.privateKey };
}

/** Whether a stored server certificate still serves: every name is among its SANs and it is not about to expire. */
function covers(cert: x509.X509Certificate, names: readonly string[]): boolean {
  if (cert.notAfter.getTime() < Date.now() + 24 * 60 * 60 * 1000) return false;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!san) return false;
  const have = new Set(san.names.items.map((n) => n.value));
  return names.every((n) => have.has(n));
}

/** The CA and server certificate in `dir`, made or re-issued as needed (see the header). */
export async function ensureTlsMaterial(dir: string, host: string): Promise<TlsMaterial> {
  await ensurePrivateDir(dir);
  const files = {
    caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key'),
  };
  let caCertPem = await readOptional(files.caCert);
  let caKeyPem = await readOptional(files.caKey);
  let createdCa = false;
  let ca: { cert: x509.X509Certificate; key: CryptoKey };
  if (caCertPem === undefined || caKeyPem === undefined) {
    ca = await makeCa();
    caKeyPem = await exportKey(ca.key);
    caCertPem = ca.cert.toString('pem') + '\n';
    await writePrivateFile(files.caKey, caKeyPem);
    await writePrivateFile(files.caCert, caCertPem, 0o644);
    createdCa = true;
  } else {
    ca = { cert: new x509.X509Certificate(caCertPem), key: await importKey(caKeyPem) };
  }
  const names = serverNames(host);
  let certPem = createdCa ? undefined : await readOptional(files.cert);
  let keyPem = createdCa ? undefined : await readOptional(files.key);
  if (certPem === undefined || keyPem === undefined || !covers(new x509.X509Certificate(certPem), names)) {
    const issued = await makeServerCert(ca, names);
    keyPem = await exportKey(issued.key);
    certPem = issued.cert.toString('pem') + '\n';
    await writePrivateFile(files.key, keyPem);
    await writePrivateFile(files.cert, certPem, 0o644);
  }
  return { cert: certPem, key: keyPem, ca: caCertPem, createdCa };
}
