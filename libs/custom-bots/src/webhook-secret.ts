import { randomToken, sha256Hex } from '@torgovo/core';

/** 32 random bytes, base64url: shown once, stored as SHA-256 (a lookup key, nothing reversible). */
export function newWebhookSecret(): { secret: string; hash: string } {
  const secret = randomToken(32);
  return { secret, hash: sha256Hex(secret) };
}

/** Our secrets are 43 base64url characters; anything far from that shape cannot be one. */
export function looksLikeWebhookSecret(s: string): boolean {
  return /^[A-Za-z0-9_-]{16,128}$/.test(s);
}
