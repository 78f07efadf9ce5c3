import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AppConfig, AuditService, Decimal, Page, page, PageQuery } from '@torgovo/core';
import { planPrice, PlanType, SubscriptionPlan } from '@torgovo/plans';
import { optionalUserHooks, UserHooks } from '@torgovo/users';
import { addDays } from './billing-period';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './dto/subscription.dto';
import { UserSubscription } from './entities/user-subscription.entity';
import { SubscriptionErrors } from './errors';
import { SubscriptionHooks } from './subscription-hooks';
import { AuditContext, markReplaced, subscriptionAudit } from './subscription-audit';
import { assertTransition, CURRENT_STATUSES, EndReason, endsAtPeriodEnd, isCurrent, SubscriptionStatus } from './subscription-states';
import { isUniqueViolation, lockActiveUserBilling, lockUserBilling } from './user-billing-lock';

export interface CurrentSubscriptions {
  current: Partial<Record<PlanType, UserSubscription>>;
  pending: Partial<Record<PlanType, UserSubscription>>;
}

const OPEN_STATUSES: SubscriptionStatus[] = [...CURRENT_STATUSES, 'pending_payment'];

const isFreePlan = (plan: SubscriptionPlan | undefined, sub: UserSubscription): boolean =>
  plan !== undefined && new Decimal(planPrice(plan, sub.billing_cycle)).isZero();

/** The user-facing side of subscriptions; activation by payments is SubscriptionActivationService. */
@Injectable()
export class SubscriptionsService {

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    private readonly hooks: SubscriptionHooks,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Subscriptions by id with their plans, any owner: for the live-updates feed. */
  findByIds(ids: string[]): Promise<UserSubscription[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.ds.getRepository(UserSubscription).find({ where: { id: In(ids) }, relations: { plan: true } });
  }

  /**
   * Free plans start active; a plan with trial days starts its trial (once per plan, and
   * only over nothing or a free plan); anything else waits in pending_payment, replacing
   * the current subscription of its type only when paid. Repeating the same request while
   * it is pending returns the pending subscription.
   */
  async subscribe(userId: string, dto: CreateSubscriptionDto, ctx: AuditContext = {}, manager?: EntityManager): Promise<UserSubscription> {
    // A caller's transaction (Stripe checkout: the pending subscription and its payment commit together).
    if (manager) return this.get(userId, await this.subscribeIn(manager, userId, dto, ctx), manager);
    let id: string;
    try {
      id = await this.ds.transaction((m) => this.subscribeIn(m, userId, dto, ctx));
    } catch (err) {
      // Only reachable if a writer skipped lockUserBilling: the index still holds the rule.
      if (isUniqueViolation(err)) throw SubscriptionErrors.concurrentChange();
      throw err;
    }
    return this.get(userId, id);
  }

  async list(userId: string, q: PageQuery): Promise<Page<UserSubscription>> {
    const [items, total] = await this.ds.getRepository(UserSubscription).findAndCount({
      where: { user_id: userId },
      relations: { plan: true },
      order: { created_at: 'DESC', id: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(items, total, q);
  }

  async current(userId: string): Promise<CurrentSubscriptions> {
    const open = await this.ds.getRepository(UserSubscription).find({
      where: { user_id: userId, status: In(OPEN_STATUSES) },
      relations: { plan: true },
    });
    const out: CurrentSubscriptions = { current: {}, pending: {} };
    for (const s of open) (s.status === 'pending_payment' ? out.pending : out.current)[s.plan_type] = s;
    return out;
  }

  /** Another user's id is indistinguishable from a missing one: 404. */
  async get(userId: string, id: string, manager?: EntityManager): Promise<UserSubscription> {
    const repo = (manager ?? this.ds.manager).getRepository(UserSubscription);
    const sub = await repo.findOne({ where: { id, user_id: userId }, relations: { plan: true } });
    if (!sub) throw SubscriptionErrors.notFound();
    return sub;
  }

  async update(userId: string, id: string, dto: UpdateSubscriptionDto, ctx: AuditContext = {}): Promise<UserSubscription> {
    await this.ds.transaction(async (m) => {
      await lockUserBilling(m, userId);
      const sub = await this.lockOwned(m, userId, id);
      const changes: Partial<Pick<UserSubscription, 'auto_renew' | 'cancel_at_period_end'>> = {};
      if (dto.auto_renew !== undefined && dto.auto_renew !== sub.auto_renew) changes.auto_renew = dto.auto_renew;
      if (dto.cancel_at_period_end !== undefined && dto.cancel_at_period_end !== sub.cancel_at_period_end) {
        changes.cancel_at_period_end = dto.cancel_at_period_end;
      }
      if (sub.status === 'cancelled' || sub.status === 'expired') throw SubscriptionErrors.ended(sub.status);
      if (Object.keys(changes).length === 0) return;
      // Neither a pending subscription nor an open-ended (free) one has a period to end;
      // auto_renew may be chosen while pending, not on free.
      if (changes.cancel_at_period_end && sub.end_date === null) throw SubscriptionErrors.noPeriodEnd();
      if (changes.auto_renew && sub.end_date === null && sub.status !== 'pending_payment') throw SubscriptionErrors.noPeriodEnd();
      // The provider has one flag for both choices: a renewal it would charge must stop when either says so.
      await this.hooks.mirrorCancelAtPeriodEnd(sub, endsAtPeriodEnd({ ...sub, ...changes }), m, ctx);
      await m.getRepository(UserSubscription).update({ id }, changes);
      await this.audit.record(subscriptionAudit('subscription.updated', sub, ctx, { status: sub.status, changes }), m);
    });
    return this.get(userId, id);
  }

  /** Cancel now: access ends at once and the user's bots of this type are stopped. */
  async cancel(userId: string, id: string, ctx: AuditContext = {}): Promise<UserSubscription> {
    await this.ds.transaction(async (m) => {
      await lockUserBilling(m, userId);
      await this.cancelIn(m, await this.lockOwned(m, userId, id), ctx, 'cancelled_by_user');
    });
    // The bots it ran are stopped (in that transaction): answered once no send decided before can still reach the exchange.
    await this.userHooks()?.sendsSettled({ user_id: userId });
    return this.get(userId, id);
  }

  /** Looked up, not injected: users' hooks live in UsersModule, which this module does not import. */
  private userHooks(): UserHooks | undefined {
    return optionalUserHooks(this.moduleRef);
  }

  /**
   * The account is being erased (inside that transaction): every subscription that is current or
   * waiting for payment ends now, through the same path as a user's cancel (the provider stops billing).
   */
  async cancelAllForErasure(userId: string, adminId: string | null, m: EntityManager): Promise<void> {
    await lockUserBilling(m, userId);
    const open = await m
      .getRepository(UserSubscription)
      .createQueryBuilder('s')
      .setLock('pessimistic_write')
      .where('s.user_id = :userId AND s.status IN (:...statuses)', { userId, statuses: [...CURRENT_STATUSES, 'pending_payment'] })
      .getMany();
    for (const sub of open) await this.cancelIn(m, sub, { actorId: adminId, actor: adminId ? 'admin' : 'system' }, 'account_erased');
  }

  private async cancelIn(m: EntityManager, sub: UserSubscription, ctx: AuditContext, reason: EndReason): Promise<void> {
    const { id, user_id: userId } = sub;
    assertTransition(sub.status, 'cancelled', 'cancel');
    await this.hooks.mirrorCancelNow(sub, m, ctx);
    const now = new Date();
    await m.getRepository(UserSubscription).update({ id }, { status: 'cancelled', cancelled_at: now, ended_at: now, end_reason: reason, auto_renew: false });
    await this.audit.record(subscriptionAudit('subscription.cancelled', sub, ctx, { from: sub.status, reason }), m);
    if (isCurrent(sub.status)) {
      await this.hooks.notifyEnded([{ subscription_id: id, user_id: userId, plan_type: sub.plan_type, reason }], m);
    }
  }

  private async subscribeIn(m: EntityManager, userId: string, dto: CreateSubscriptionDto, ctx: AuditContext): Promise<string> {
    // Where the subscription is written, not only at the guard: an erasure committing meanwhile would
    // leave a trial or pending subscription (and its Stripe billing) on the erased account.
    await lockActiveUserBilling(m, userId);
    const plan = await m.getRepository(SubscriptionPlan).findOne({ where: { id: dto.plan_id } });
    if (!plan) throw SubscriptionErrors.planNotFound();
    if (!plan.is_active) throw SubscriptionErrors.planInactive();

    const repo = m.getRepository(UserSubscription);
    const open = await repo.find({
      where: { user_id: userId, plan_type: plan.plan_type, status: In(OPEN_STATUSES) },
      relations: { plan: true },
      lock: { mode: 'pessimistic_write', tables: ['user_subscriptions'] },
    });
    const current = open.find((s) => isCurrent(s.status));
    const pending = open.find((s) => s.status === 'pending_payment');

    if (pending) {
      const same = pending.plan_id === plan.id && pending.billing_cycle === dto.billing_cycle && pending.payment_method === dto.payment_method;
      if (same) return pending.id;
      throw SubscriptionErrors.pendingExists(pending.id);
    }
    if (current && current.plan_id === plan.id && current.billing_cycle === dto.billing_cycle) {
      throw SubscriptionErrors.alreadySubscribed(plan.plan_type);
    }

    const paid = !new Decimal(planPrice(plan, dto.billing_cycle)).isZero();
    // A card trial without card payments would end with nothing to convert it (and, over Free, no plan at all).
    if (paid && dto.payment_method === 'stripe' && !this.config.stripeEnabled) throw SubscriptionErrors.cardPaymentsOff();

    const now = new Date();
    const tz = this.config.env.APP_TIMEZONE;
    const id = randomUUID();
    const base = {
      id,
      user_id: userId,
      plan_id: plan.id,
      plan_type: plan.plan_type,
      billing_cycle: dto.billing_cycle,
    };
    let created: UserSubscription;

    if (!paid) {
      // Moving down to free would throw away paid time: cancel (or schedule the end of) the paid plan first.
      if (current) throw SubscriptionErrors.alreadySubscribed(plan.plan_type);
      created = repo.create({ ...base, status: 'active', payment_method: 'none', auto_renew: false, start_date: now, end_date: null });
      await repo.insert(created);
    } else if (plan.trial_days > 0 && (!current || isFreePlan(current.plan, current)) && !(await this.hadTrial(m, userId, plan.id))) {
      const trialEnd = addDays(now, plan.trial_days, tz);
      if (current) await markReplaced(m, this.audit, current, ctx, now);
      created = repo.create({
        ...base,
        status: 'trial',
        payment_method: dto.payment_method,
        auto_renew: dto.auto_renew ?? true,
        start_date: now,
        end_date: trialEnd,
        trial_ends_at: trialEnd,
        period_anchor: trialEnd,
        replaces_id: current?.id ?? null,
      });
      await repo.insert(created);
      if (current) await repo.update({ id: current.id }, { replaced_by_id: id });
    } else {
      if (dto.payment_method === 'none') throw SubscriptionErrors.paymentMethodRequired();
      created = repo.create({
        ...base,
        status: 'pending_payment',
        payment_method: dto.payment_method,
        auto_renew: dto.auto_renew ?? true,
        replaces_id: current?.id ?? null,
      });
      await repo.insert(created);
    }
    await this.audit.record(
      subscriptionAudit('subscription.created', created, ctx, {
        plan_code: plan.code,
        status: created.status,
        billing_cycle: created.billing_cycle,
        payment_method: created.payment_method,
        end_date: created.end_date?.toISOString() ?? null,
      }),
      m,
    );
    return id;
  }

  private async hadTrial(m: EntityManager, userId: string, planId: string): Promise<boolean> {
    const rows = (await m.query(
      'SELECT 1 FROM user_subscriptions WHERE user_id = $1 AND plan_id = $2 AND trial_ends_at IS NOT NULL LIMIT 1',
      [userId, planId],
    )) as unknown[];
    return rows.length > 0;
  }

  private async lockOwned(m: EntityManager, userId: string, id: string): Promise<UserSubscription> {
    const sub = await m.getRepository(UserSubscription).findOne({
      where: { id, user_id: userId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!sub) throw SubscriptionErrors.notFound();
    return sub;
  }
}
