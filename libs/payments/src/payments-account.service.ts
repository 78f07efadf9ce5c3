import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, AuditService, Page, page, PageQuery } from '@torgovo/core';
import type { AuditContext } from '@torgovo/subscriptions';
import { SubscriptionPlan } from '@torgovo/plans';
import { PortalResponse } from './dto/create-checkout.dto';
import { PaymentPlanSummary, PaymentResponse, toPaymentResponse } from './dto/payment-response';
import { Payment } from './entities/payment.entity';
import { PaymentErrors } from './errors';
import { StripeGateway } from './stripe/stripe-gateway';

/** The user's side of billing outside checkout: the Stripe Customer Portal and the payment history. */
@Injectable()
export class PaymentsAccountService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly gateway: StripeGateway,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  async portal(userId: string, ctx: AuditContext): Promise<PortalResponse> {
    this.gateway.assertEnabled();
    const rows = (await this.ds.query('SELECT stripe_customer_id FROM users WHERE id = $1', [userId])) as Array<{ stripe_customer_id: string | null }>;
    const customer = rows[0]?.stripe_customer_id;
    if (!customer) throw PaymentErrors.noCustomer();
    const session = await this.gateway.call('billingPortal.sessions.create', (s) =>
      s.billingPortal.sessions.create({ customer, return_url: this.config.env.STRIPE_SUCCESS_URL ?? this.config.publicUrl }),
    );
    await this.audit.record({ event_type: 'payment.portal_opened', user_id: userId, data: { portal_session_id: session.id }, ip: ctx.ip ?? null, user_agent: ctx.user_agent ?? null });
    return { url: session.url };
  }

  /** Every provider's payments (history is not Stripe-only), newest first; works with Stripe off. */
  async history(userId: string, q: PageQuery): Promise<Page<PaymentResponse>> {
    const [items, total] = await this.ds.getRepository(Payment).findAndCount({
      where: { user_id: userId },
      order: { created_at: 'DESC', id: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    const planIds = [...new Set(items.map((p) => p.plan_id).filter((id): id is string => id !== null))];
    const plans = planIds.length
      ? await this.ds.getRepository(SubscriptionPlan).createQueryBuilder('p').select(['p.id', 'p.code', 'p.name', 'p.plan_type']).where('p.id IN (:...ids)', { ids: planIds }).getMany()
      : [];
    const byId = new Map<string, PaymentPlanSummary>(plans.map((p) => [p.id, { id: p.id, code: p.code, name: p.name, plan_type: p.plan_type }]));
    return page(items.map((p) => toPaymentResponse(p, p.plan_id ? (byId.get(p.plan_id) ?? null) : null)), total, q);
  }
}
