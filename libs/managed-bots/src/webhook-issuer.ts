import type { EntityManager } from 'typeorm';
import { lockActiveAdmin } from '@torgovo/users';

/** Why a managed-bot webhook secret trades nothing (logged, never answered: every one is a 404 like an unknown secret). */
export type WebhookRefusal = 'unknown_secret' | 'no_known_issuer' | 'issuer_not_admin' | 'rotated';

export type WebhookGate = { ok: true; managedBotId: string; issuedBy: string } | { ok: false; reason: WebhookRefusal; managedBotId: string | null; issuedBy: string | null };

/**
 * A managed bot's webhook secret trades every follower on the authority of the admin who issued it
 * (webhook_issued_by): it works only while that admin is still an active, non-erased admin. In the
 * fan-out's transaction, before the fan-out statement: the issuer's row is share-locked
 * (lockActiveAdmin, the rule lockActingAdmin checks), so a demotion, deactivation or erasure either
 * committed before — refused here — or waits for the signal's commit. Then the bot row is
 * share-locked with the secret and issuer re-checked: a rotation committed since the first read
 * refuses the old secret, and one not yet committed waits for this signal. The user row is locked
 * before the bot row, as every admin write here takes them.
 * Also called outside a transaction by the receive path, for an early answer (the locks then last
 * one statement): the fan-out's call is the one that counts.
 */
export async function lockWebhookIssuer(m: EntityManager, secretHash: string): Promise<WebhookGate> {
  const [bot] = (await m.query(`SELECT id, webhook_issued_by FROM managed_bots WHERE webhook_secret_hash = $1`, [secretHash])) as Array<{
    id: string;
    webhook_issued_by: string | null;
  }>;
  if (!bot) return { ok: false, reason: 'unknown_secret', managedBotId: null, issuedBy: null };
  const refused = (reason: WebhookRefusal): WebhookGate => ({ ok: false, reason, managedBotId: bot.id, issuedBy: bot.webhook_issued_by });
  if (bot.webhook_issued_by === null) return refused('no_known_issuer');
  if (!(await lockActiveAdmin(m, bot.webhook_issued_by))) return refused('issuer_not_admin');
  const still = (await m.query(`SELECT 1 FROM managed_bots WHERE id = $1 AND webhook_secret_hash = $2 AND webhook_issued_by = $3 FOR SHARE`, [
    bot.id,
    secretHash,
    bot.webhook_issued_by,
  ])) as unknown[];
  if (still.length === 0) return refused('rotated');
  return { ok: true, managedBotId: bot.id, issuedBy: bot.webhook_issued_by };
}
