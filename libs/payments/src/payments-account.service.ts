import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AppConfig, AuditService, Page, page, PageQuery } from '@torgovo/core';
import type { AuditContext } from '@torgovo/subscriptions';
import { SubscriptionPlan } from '@torgovo/plans';
import { PortalResponse } from './dto/create-checkout.dto';
import { PaymentPlanSummary, PaymentResponse, toPaymentResponse } from './dto/payment-response';
import { Payment } from './entities/payment.entity';
import { PaymentErrors } from './errors';
import { StripeGateway } from './stripe/stripe-gateway';

/** Bump when the Portal features below change: a new configuration is created at Stripe. */
const PORTAL_CONFIGURATION_VERSION = 'v1';

/** The user's side of billing outside checkout: the Stripe Customer Portal and the payment history. */
@Injectable()
export class PaymentsAccountService {
  private portalConfigId?: string;

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
    const returnUrl = this.config.env.STRIPE_PORTAL_RETURN_URL ?? `${this.config.publicUrl}/billing`;
    const configuration = await this.portalConfiguration(returnUrl);
    const session = await this.gateway.call('billingPortal.sessions.create', (s) => s.billingPortal.sessions.create({ customer, return_url: returnUrl, configuration }));
    await this.audit.record({
      event_type: 'payment.portal_opened',
      user_id: userId,
      data: { portal_session_id: session.id, configuration, actor: 'user' },
      ip: ctx.ip ?? null,
      user_agent: ctx.user_agent ?? null,
    });
    return { url: session.url };
  }

  /**
   * The Portal's configuration, created once at Stripe and found again by its metadata: it allows
   * only what this platform follows — payment method and invoice history, and cancel at period end
   * (mirrored to auto_renew) — never a plan switch (plans change through Checkout, with the old
   * plan's unused time credited) nor an immediate cancel. Stripe's default configuration may allow both.
   */
  private async portalConfiguration(returnUrl: string): Promise<string> {
    if (this.portalConfigId) return this.portalConfigId;
    const list = await this.gateway.call('billingPortal.configurations.list', (s) => s.billingPortal.configurations.list({ active: true, limit: 100 }));
    const found = list.data.find((c) => c.metadata?.torgovo_portal === PORTAL_CONFIGURATION_VERSION);
    const config =
      found ??
      (await this.gateway.call('billingPortal.configurations.create', (s) =>
        s.billingPortal.configurations.create(
          {
            default_return_url: returnUrl,
            features: {
              customer_update: { enabled: false },
              invoice_history: { enabled: true },
              payment_method_update: { enabled: true },
              subscription_cancel: { enabled: true, mode: 'at_period_end', proration_behavior: 'none' },
              subscription_update: { enabled: false },
            },
            metadata: { torgovo_portal: PORTAL_CONFIGURATION_VERSION },
          },
          { idempotencyKey: `portal-configuration-${PORTAL_CONFIGURATION_VERSION}` },
        ),
      ));
    this.portalConfigId = config.id;
    return config.id;
  }

  /** Every provider's payments (history is not Stripe-only), newest first; works with Stripe off. */
  async history(userId: string, q: PageQuery): Promise<Page<PaymentResponse>> {
    const [items, total] = await this.ds.getRepository(Payment).findAndCount({
      where: { user_id: userId },
      order: { created_at: 'DESC', id: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(await this.responses(items), total, q);
  }

  /** Payments by id, any owner, in the REST shape: for the live-updates feed (which pairs each with its event's user). */
  async findByIds(ids: string[]): Promise<Array<{ user_id: string; response: PaymentResponse }>> {
    if (ids.length === 0) return [];
    const items = await this.ds.getRepository(Payment).findBy({ id: In(ids) });
    const responses = await this.responses(items);
    return items.map((p, i) => ({ user_id: p.user_id, response: responses[i] }));
  }

  private async responses(items: Payment[]): Promise<PaymentResponse[]> {
    const planIds = [...new Set(items.map((p) => p.plan_id).filter((id): id is string => id !== null))];
    const plans = planIds.length
      ? await this.ds.getRepository(SubscriptionPlan).createQueryBuilder('p').select(['p.id', 'p.code', 'p.name', 'p.plan_type']).where('p.id IN (:...ids)', { ids: planIds }).getMany()
      : [];
    const byId = new Map<string, PaymentPlanSummary>(plans.map((p) => [p.id, { id: p.id, code: p.code, name: p.name, plan_type: p.plan_type }]));
    return items.map((p) => toPaymentResponse(p, p.plan_id ? (byId.get(p.plan_id) ?? null) : null));
  }
}
