import { createHash } from 'node:crypto';
import { sha256Hex } from './hashing';

describe('sha256Hex', () => {
  it('is SHA-256 in hex: the FIPS 180-2 vectors, and createHash over UTF-8 for any text', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    for (const text of ['ünïcödé ✓ 𝄞', 'x'.repeat(10_000), '{"action":"buy","alert_id":"a\u0000b"}']) {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
});
