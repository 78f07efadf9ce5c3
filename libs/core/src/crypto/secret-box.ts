import { createCipheriv, createDecipheriv, createHash, createSecretKey, KeyObject, randomBytes } from 'node:crypto';

interface Key {
  id: string;
  /**
   * A KeyObject, not the Buffer: Node 24 checks a Buffer key by trying it as a KeyObject and then as
   * a CryptoKey, two thrown and caught exceptions per call (~12 µs of a 15 µs open(), measured); a
   * KeyObject passes the first check at once. The worker opens every credential of a batch before it
   * places it: in a live bar close's CPU profile, ~8 % of the worker's samples were these checks
   * here, ~5 % more the same checks in the OKX signature (bench/RESULTS.md, session of 2026-11-26 15:54).
   */
  key: KeyObject;
}

const VERSION = 'v1';

function parseKey(material: string): Key {
  const trimmed = material.trim();
  // Strictly 64 hex digits or canonical base64 of 32 bytes: Node's lenient base64 decoding would
  // take a 43-character passphrase as a key.
  const hex = /^[0-9a-f]{64}$/i.test(trimmed);
  const base64 = /^[A-Za-z0-9+/]{43}=$/.test(trimmed) || /^[A-Za-z0-9_-]{43}$/.test(trimmed);
  const key = hex ? Buffer.from(trimmed, 'hex') : base64 ? Buffer.from(trimmed, trimmed.endsWith('=') ? 'base64' : 'base64url') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new Error('ENCRYPTION_KEY must be 32 bytes, base64 or hex encoded');
  }
  // The key id is derived from the key so it needs no separate configuration.
  const id = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return { id, key: createSecretKey(key) };
}

/**
 * AES-256-GCM with a key id in every ciphertext: `v1:<kid>:<iv>:<tag>:<ciphertext>`.
 * New data is sealed with the current key; older keys only open.
 */
export class SecretBox {
  private readonly current: Key;
  private readonly keys = new Map<string, KeyObject>();

  constructor(currentKey: string, oldKeys: string[] = []) {
    this.current = parseKey(currentKey);
    this.keys.set(this.current.id, this.current.key);
    for (const material of oldKeys) {
      const k = parseKey(material);
      if (!this.keys.has(k.id)) this.keys.set(k.id, k.key);
    }
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, aad = ''): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    if (aad) cipher.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.current.id, iv.toString('base64url'), tag.toString('base64url'), ct.toString('base64url')].join(':');
  }

  open(sealed: string, aad = ''): string {
    const parts = sealed.split(':');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new Error('Malformed ciphertext');
    const [, kid, iv, tag, ct] = parts;
    const key = this.keys.get(kid);
    if (!key) throw new Error(`Unknown encryption key id ${kid}`);
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    // A truncated tag would make forgery far easier: exactly the 12-byte IV and 16-byte tag we write.
    if (ivBytes.length !== 12 || tagBytes.length !== 16) throw new Error('Malformed ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: 16 });
    if (aad) decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  }

  keyIdOf(sealed: string): string {
    return sealed.split(':')[1] ?? '';
  }

  /** True when the value was sealed with an older key and should be re-sealed. */
  needsRotation(sealed: string): boolean {
    return this.keyIdOf(sealed) !== this.current.id;
  }

  /** Whether this configuration can open values sealed under `kid` (the current key or one of ENCRYPTION_KEYS_OLD). */
  knows(kid: string): boolean {
    return this.keys.has(kid);
  }

  /** Ids of the configured older keys (ENCRYPTION_KEYS_OLD), which only open. */
  get oldKeyIds(): string[] {
    return [...this.keys.keys()].filter((id) => id !== this.current.id);
  }

  /**
   * The same plaintext sealed again under the current key (key rotation). The plaintext exists only
   * inside this call: it is never returned, so a caller cannot log or keep it. Throws as open() does.
   */
  reseal(sealed: string, aad = ''): string {
    return this.seal(this.open(sealed, aad), aad);
  }
}
