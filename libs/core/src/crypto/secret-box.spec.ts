import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';
import { constantTimeEqual } from './hashing';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('round-trips and never stores the plaintext', () => {
    const box = new SecretBox(key());
    const sealed = box.seal('my-okx-secret', 'user-1');
    expect(sealed).toMatch(/^v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain('my-okx-secret');
    expect(box.open(sealed, 'user-1')).toBe('my-okx-secret');
  });

  it('uses a fresh IV each time', () => {
    const box = new SecretBox(key());
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('refuses a ciphertext bound to another owner or tampered with', () => {
    const box = new SecretBox(key());
    const sealed = box.seal('secret', 'user-1');
    expect(() => box.open(sealed, 'user-2')).toThrow();
    const parts = sealed.split(':');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join(':'), 'user-1')).toThrow();
  });

  it('opens data sealed with an old key after rotation, and seals with the new one', () => {
    const oldKey = key();
    const newKey = key();
    const sealedOld = new SecretBox(oldKey).seal('legacy', 'u');
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(rotated.open(sealedOld, 'u')).toBe('legacy');
    expect(rotated.needsRotation(sealedOld)).toBe(true);
    const resealed = rotated.seal('legacy', 'u');
    expect(rotated.needsRotation(resealed)).toBe(false);
    expect(() => new SecretBox(newKey).open(sealedOld, 'u')).toThrow(/Unknown encryption key id/);
  });

  it('reseal moves a value to the current key, same plaintext and owner binding; knows() names the keys it can open', () => {
    const oldKey = key();
    const newKey = key();
    const before = new SecretBox(oldKey);
    const sealedOld = before.seal('legacy', 'u');
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(rotated.knows(before.currentKeyId)).toBe(true);
    expect(rotated.oldKeyIds).toEqual([before.currentKeyId]);
    const resealed = rotated.reseal(sealedOld, 'u');
    expect(rotated.keyIdOf(resealed)).toBe(rotated.currentKeyId);
    // Opens without the old key: the old key can be dropped once every value is re-sealed.
    expect(new SecretBox(newKey).open(resealed, 'u')).toBe('legacy');
    expect(() => new SecretBox(newKey).open(resealed, 'other-user')).toThrow();
    // A value under a key this configuration does not know is refused, not re-sealed.
    const stranger = new SecretBox(key()).seal('x', 'u');
    expect(rotated.knows(rotated.keyIdOf(stranger))).toBe(false);
    expect(() => rotated.reseal(stranger, 'u')).toThrow(/Unknown encryption key id/);
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => new SecretBox(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
    expect(new SecretBox('ab'.repeat(32)).currentKeyId).toHaveLength(8);
  });
});

describe('constantTimeEqual', () => {
  it('compares', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
  });
});

describe('SecretBox key material', () => {
  it('takes exactly 64 hex digits or canonical base64 of 32 bytes, never a passphrase that happens to decode', () => {
    const raw = Buffer.alloc(32, 9);
    expect(() => new SecretBox(raw.toString('hex'))).not.toThrow();
    expect(() => new SecretBox(raw.toString('base64'))).not.toThrow();
    expect(() => new SecretBox(raw.toString('base64url'))).not.toThrow();
    expect(() => new SecretBox('correct horse battery staple and more words')).toThrow('ENCRYPTION_KEY');
    // 43 characters, but not base64: Node's lenient decoder would have made a key of it.
    const passphrase = 'my secret passphrase for torgovo keys, 2026';
    expect(passphrase).toHaveLength(43);
    expect(() => new SecretBox(passphrase)).toThrow('ENCRYPTION_KEY');
  });
});
