import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Decimal, Page, page, PageQuery } from '@torgovo/core';
import { AssignDepositResponse, UnmatchedDepositResponse } from '../dto/crypto.dto';
import { isUniqueViolation, lockUserBilling } from '@torgovo/subscriptions';
import { CryptoDeposit } from '../entities/crypto-deposit.entity';
import { Payment } from '../entities/payment.entity';
import { PaymentErrors } from '../errors';
import { CompletedCryptoPayment, CryptoPaymentCompletion } from './crypto-payment-completion';
import { PaymentNotifier } from './payment-notifier';
import { lockActingAdmin } from '@torgovo/users';

/** The deposit, taken only if still unmatched (guarded: two admins, or an admin and the checker, cannot both take it). */
const TAKE_DEPOSIT_SQL = `
  UPDATE crypto_deposits SET match_status = 'assigned', payment_id = $2, assigned_by = $3, matched_at = $4, updated_at = now()
   WHERE id = $1 AND match_status = 'unmatched'
  RETURNING id, dep_id, tx_id, ccy, amount::text AS amount`;

/** The payment, completed only if not already (a payment completes once), in the deposit's currency. */
const COMPLETE_PAYMENT_SQL = `
  UPDATE payments
     SET status = 'completed', provider = 'okx', received_amount = $2::numeric, tx_hash = NULLIF($3, ''), provider_payment_id = $4,
         confirmed_at = $6, failure_reason = NULL, updated_at = now()
   WHERE id = $1 AND status <> 'completed' AND crypto_currency = $5
     AND (provider = 'okx' OR (provider IS NULL AND kind = 'renewal'))
  RETURNING id, user_id, subscription_id, kind, provider, amount_usd::text AS amount_usd, crypto_currency,
            received_amount::text AS received_amount, tx_hash`;

/** The admin acting, and their request (audited with the assignment). */
export interface AdminActor {
  id: string;
  ip: string | null;
  user_agent: string | null;
}

/** Deposits that matched no open payment, and an admin's decision about one. */
@Injectable()
export class UnmatchedDepositsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly completion: CryptoPaymentCompletion,
    private readonly notifier: PaymentNotifier,
  ) {}

  async list(q: PageQuery): Promise<Page<UnmatchedDepositResponse>> {
    const [items, total] = await this.ds.getRepository(CryptoDeposit).findAndCount({
      where: { match_status: 'unmatched' },
      order: { deposited_at: 'DESC', id: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(
      items.map((d) => ({
        id: d.id,
        dep_id: d.dep_id,
        tx_id: d.tx_id,
        crypto_currency: d.ccy,
        chain: d.chain,
        amount: new Decimal(d.amount).toFixed(),
        to_address: d.to_address,
        tag: d.tag,
        state: d.state,
        deposited_at: d.deposited_at.toISOString(),
        first_seen_at: d.first_seen_at.toISOString(),
      })),
      total,
      q,
    );
  }

  /** The admin says which payment this deposit pays: it completes (and activates) as if matched, audited as theirs. */
  async assign(admin: AdminActor, depositId: string, paymentId: string, now = new Date()): Promise<AssignDepositResponse> {
    const adminId = admin.id;
    const run = this.ds.transaction(async (m) => {
      // The deposit credits a subscription: only by an admin who still is one as it is written (the
      // role guard read the role when the request came in; a demotion since is refused 403 here).
      await lockActingAdmin(m, adminId);
      const payment = await m.getRepository(Payment).findOne({ where: { id: paymentId }, select: { id: true, user_id: true } });
      if (!payment) throw PaymentErrors.paymentNotFound();
      const [taken] = (await m.query(TAKE_DEPOSIT_SQL, [depositId, paymentId, adminId, now])) as [Array<{ id: string; dep_id: string; tx_id: string; ccy: string; amount: string }>, number];
      const deposit = taken[0];
      if (!deposit) {
        const exists = await m.getRepository(CryptoDeposit).exists({ where: { id: depositId } });
        throw exists ? PaymentErrors.depositNotAssignable() : PaymentErrors.depositNotFound();
      }
      // As the checker: the deposit, then the user's billing lock, then the payment row (initialize and
      // checkout take the lock before that row; the activation would take it after, a deadlock).
      await lockUserBilling(m, payment.user_id);
      const [done] = (await m.query(COMPLETE_PAYMENT_SQL, [paymentId, deposit.amount, deposit.tx_id, deposit.dep_id, deposit.ccy, now])) as [CompletedCryptoPayment[], number];
      // Throwing rolls the deposit back to unmatched.
      if (!done[0]) throw PaymentErrors.paymentNotAssignable();
      await this.completion.apply(m, done, { actorId: adminId, ip: admin.ip, user_agent: admin.user_agent, event: 'payment.assigned', data: { deposit_id: deposit.id, dep_id: deposit.dep_id } }, now);
      await this.notifier.paymentsConfirmed(m, [paymentId]);
      return { deposit_id: deposit.id, payment_id: paymentId, status: 'completed' as const, subscription_id: done[0].subscription_id };
    });
    try {
      return await run;
    } catch (err) {
      // The deposit's transaction id already settled another payment.
      if (isUniqueViolation(err, 'payments_okx_tx_key') || isUniqueViolation(err, 'payments_provider_payment_key')) throw PaymentErrors.depositNotAssignable();
      throw err;
    }
  }
}
