import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { NotificationItem, NotificationKind, NotificationOutbox } from '@torgovo/notifications';

interface Row {
  id: string;
  user_id: string;
  amount_usd: string;
  crypto_currency: string | null;
  received_amount: string | null;
  tx_hash: string | null;
  failure_reason: string | null;
  plan_name: string | null;
  end_date: Date | null;
}

const SQL = `
  SELECT p.id, p.user_id, p.amount_usd::text AS amount_usd, p.crypto_currency, p.received_amount::text AS received_amount,
         p.tx_hash, p.failure_reason, pl.name AS plan_name, s.end_date
    FROM payments p
    LEFT JOIN subscription_plans pl ON pl.id = p.plan_id
    LEFT JOIN user_subscriptions s ON s.id = p.subscription_id
   WHERE p.id = ANY($1::uuid[])`;

/** failure_reason of a completed payment its completion could not apply (the subscription had ended): kept for an admin. */
export const NOT_APPLIED = 'not_applied: ';

/** The e-mails payments cause, queued in the transaction that changed the payments (one SELECT, one INSERT). */
@Injectable()
export class PaymentNotifier {
  constructor(private readonly outbox: NotificationOutbox) {}

  /** Completed payments: confirmed, or — when the completion could not apply one (failure_reason not_applied: …) — received and not applied. */
  paymentsConfirmed(m: EntityManager, paymentIds: string[]): Promise<number> {
    return this.enqueue(m, paymentIds, 'payment_confirmed');
  }

  paymentsExpired(m: EntityManager, paymentIds: string[]): Promise<number> {
    return this.enqueue(m, paymentIds, 'payment_expired');
  }

  paymentsFailed(m: EntityManager, paymentIds: string[]): Promise<number> {
    return this.enqueue(m, paymentIds, 'payment_failed');
  }

  private async enqueue(m: EntityManager, paymentIds: string[], kind: NotificationKind): Promise<number> {
    if (paymentIds.length === 0) return 0;
    const rows = (await m.query(SQL, [paymentIds])) as Row[];
    const items: NotificationItem[] = rows.map((r) => {
      const as: NotificationKind = kind === 'payment_confirmed' && r.failure_reason?.startsWith(NOT_APPLIED) ? 'payment_unapplied' : kind;
      return {
        user_id: r.user_id,
        kind: as,
        dedupe_key: `${as}:${r.id}`,
        data: {
          payment_id: r.id,
          plan_name: r.plan_name,
          amount_usd: r.amount_usd,
          crypto_currency: r.crypto_currency,
          received_amount: r.received_amount,
          tx_hash: r.tx_hash,
          reason: r.failure_reason,
          end_date: r.end_date?.toISOString() ?? null,
        },
      };
    });
    return this.outbox.enqueue(m, items);
  }
}
