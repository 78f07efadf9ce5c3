// Seeding many bot owners fast: one user set up through the real API (register, subscribe, a running
// bot, a webhook, optionally exchange keys) is cloned N times in SQL, set-based, with fresh ids, e-mails
// and webhook secrets. Registering 10,000 users through the API (argon2 each) would take minutes.
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SecretBox, sha256Hex } from '@torgovo/core';

/** Copies `table`'s rows matched by `where` once per row of `_seed`, with the columns in `set` replaced (SQL expressions over `_seed s` and the source row `r`). */
function cloneSql(table: string, where: string, set: Record<string, string>): string {
  const overrides = Object.entries(set)
    .map(([column, expr]) => `'${column}', ${expr}`)
    .join(', ');
  return `INSERT INTO ${table}
    SELECT (jsonb_populate_record(NULL::${table}, to_jsonb(r) || jsonb_build_object(${overrides}))).*
      FROM ${table} r JOIN _seed s ON ${where}`;
}

/** Exchange keys sealed to each clone (a ciphertext is bound to its owner: a copied one does not open). */
export interface ResealKeys {
  encryptionKey: string;
  apiKey: string;
  secret: string;
  passphrase: string;
  /** The keys of clone i (1…n), when each user has an exchange account of its own; else all get the keys above. */
  keysFor?: (i: number) => { apiKey: string; secret: string; passphrase: string };
}

/**
 * Clones the template user (with its custom_bot subscription, its bots, their active webhook, its
 * paper account and balances, and its current exchange credential, sealed again for each clone with `keys`) `n` times. Returns the new
 * webhooks' secrets, in user order.
 */
export async function cloneBotOwners(ds: DataSource, templateUserId: string, n: number, keys?: ResealKeys): Promise<string[]> {
  const secrets = Array.from({ length: n }, () => randomBytes(32).toString('base64url'));
  await ds.transaction(async (m) => {
    await m.query(`CREATE TEMP TABLE _seed (i int, user_id uuid, sub_id uuid, bot_id uuid, webhook_id uuid, cred_id uuid, secret_hash varchar) ON COMMIT DROP`);
    await m.query(
      `INSERT INTO _seed SELECT i, gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), h
         FROM unnest($1::varchar[]) WITH ORDINALITY AS x(h, i)`,
      [secrets.map((s) => sha256Hex(s))],
    );
    const t = `'${templateUserId}'::uuid`;
    await m.query(cloneSql('users', `r.id = ${t}`, { id: 's.user_id', email: `'bench-' || s.user_id || '@example.com'` }));
    await m.query(cloneSql('user_subscriptions', `r.user_id = ${t} AND r.status IN ('active', 'trial')`, { id: 's.sub_id', user_id: 's.user_id' }));
    await m.query(cloneSql('exchange_credentials', `r.user_id = ${t} AND r.retired_at IS NULL`, { id: 's.cred_id', user_id: 's.user_id' }));
    if (keys) {
      const box = new SecretBox(keys.encryptionKey);
      const ids = (await m.query(`SELECT i, user_id FROM _seed ORDER BY i`)) as Array<{ i: number; user_id: string }>;
      const of = (r: { i: number }) => keys.keysFor?.(Number(r.i)) ?? keys;
      await m.query(
        `UPDATE exchange_credentials c SET api_key_enc = k.a, secret_enc = k.s, passphrase_enc = k.p
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS k(user_id, a, s, p) WHERE c.user_id = k.user_id`,
        [
          ids.map((r) => r.user_id),
          ids.map((r) => box.seal(of(r).apiKey, r.user_id)),
          ids.map((r) => box.seal(of(r).secret, r.user_id)),
          ids.map((r) => box.seal(of(r).passphrase, r.user_id)),
        ],
      );
    }
    await m.query(cloneSql('bots', `r.user_id = ${t} AND r.deleted_at IS NULL`, { id: 's.bot_id', user_id: 's.user_id' }));
    // What starting a paper bot opened (the paper account, its starting balances, the bot's currencies).
    await m.query(cloneSql('paper_accounts', `r.user_id = ${t}`, { user_id: 's.user_id' }));
    await m.query(cloneSql('paper_balances', `r.user_id = ${t}`, { user_id: 's.user_id' }));
    await m.query(
      cloneSql('bot_webhooks', `r.user_id = ${t} AND r.is_active`, { id: 's.webhook_id', user_id: 's.user_id', bot_id: 's.bot_id', secret_hash: 's.secret_hash' }),
    );
  });
  await ds.query('ANALYZE');
  return secrets;
}
