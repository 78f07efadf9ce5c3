import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';
import { AuditService, CommonErrors, Page, page } from '@torgovo/core';
import { AdminListPlansQuery, CreatePlanDto, ListPlansQuery, UpdatePlanDto } from './dto/plan.dto';
import { SubscriptionPlan } from './entities/subscription-plan.entity';
import { PlanErrors } from './errors';
import { PlanType } from './plan-types';
import { recordStripePrices } from './stripe-prices';
import { lockActingAdmin } from '@torgovo/users';

export interface AdminContext {
  actorId: string;
  ip?: string | null;
  user_agent?: string | null;
}

// Columns that are NOT NULL: IsOptional lets an explicit null through validation, so refuse it here.
const NOT_NULLABLE = ['name', 'description', 'monthly_price', 'yearly_price', 'features', 'live_trading', 'api_access', 'trial_days', 'sort_order', 'is_active'] as const;

function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string } | undefined)?.code === '23505';
}

@Injectable()
export class PlansService {
  constructor(
    @InjectRepository(SubscriptionPlan) private readonly plans: Repository<SubscriptionPlan>,
    private readonly audit: AuditService,
  ) {}

  async listActive(q: ListPlansQuery): Promise<Page<SubscriptionPlan>> {
    const [items, total] = await this.plans.findAndCount({
      where: { is_active: true, ...(q.plan_type ? { plan_type: q.plan_type } : {}) },
      order: { sort_order: 'ASC', monthly_price: 'ASC', code: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(items, total, q);
  }

  /** Every plan, deactivated ones too (the admin's list: a retired plan still has subscribers). */
  async listAll(q: AdminListPlansQuery): Promise<Page<SubscriptionPlan>> {
    const [items, total] = await this.plans.findAndCount({
      where: { ...(q.plan_type ? { plan_type: q.plan_type } : {}), ...(q.is_active === undefined ? {} : { is_active: q.is_active }) },
      order: { is_active: 'DESC', sort_order: 'ASC', monthly_price: 'ASC', code: 'ASC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(items, total, q);
  }

  /** Any plan, active or not: subscriptions keep pointing at deactivated plans. */
  async get(id: string, manager?: EntityManager): Promise<SubscriptionPlan> {
    const repo = manager ? manager.getRepository(SubscriptionPlan) : this.plans;
    const plan = await repo.findOne({ where: { id } });
    if (!plan) throw PlanErrors.notFound();
    return plan;
  }

  async getByCode(code: string): Promise<SubscriptionPlan> {
    const plan = await this.plans.findOne({ where: { code } });
    if (!plan) throw PlanErrors.notFound();
    return plan;
  }

  async create(dto: CreatePlanDto, ctx: AdminContext): Promise<SubscriptionPlan> {
    this.checkManagedFields(dto.plan_type, dto);
    return this.plans.manager.transaction(async (m) => {
      await lockActingAdmin(m, ctx.actorId);
      const repo = m.getRepository(SubscriptionPlan);
      let id: string;
      try {
        id = (await repo.insert(repo.create({ ...dto }))).identifiers[0].id as string;
      } catch (err) {
        if (isUniqueViolation(err)) throw PlanErrors.codeTaken(dto.code);
        throw err;
      }
      await recordStripePrices(m, id, dto);
      // Re-read so the response shows what numeric(12,2) stored ("49.5" → "49.50").
      const plan = await repo.findOneByOrFail({ id });
      await this.audit.record(
        { event_type: 'plan.created', actor_id: ctx.actorId, data: { plan_id: plan.id, code: plan.code, fields: dto }, ip: ctx.ip, user_agent: ctx.user_agent },
        m,
      );
      return plan;
    });
  }

  async update(id: string, dto: UpdatePlanDto, ctx: AdminContext): Promise<SubscriptionPlan> {
    const nulls = NOT_NULLABLE.filter((k) => (dto as Record<string, unknown>)[k] === null);
    if (nulls.length > 0) {
      throw CommonErrors.validation('Validation failed', nulls.map((field) => ({ field, message: `${field} cannot be null` })));
    }
    return this.plans.manager.transaction(async (m) => {
      // A plan edit changes what subscribers pay and get: only by an admin who still is one as it is written.
      await lockActingAdmin(m, ctx.actorId);
      const repo = m.getRepository(SubscriptionPlan);
      const plan = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!plan) throw PlanErrors.notFound();
      const merged = { ...plan, ...dto };
      this.checkManagedFields(plan.plan_type, merged);
      await repo.update({ id }, { ...dto });
      await recordStripePrices(m, id, dto);
      await this.audit.record(
        { event_type: 'plan.updated', actor_id: ctx.actorId, data: { plan_id: id, code: plan.code, changes: dto }, ip: ctx.ip, user_agent: ctx.user_agent },
        m,
      );
      return repo.findOneOrFail({ where: { id } });
    });
  }

  /** Plans are never deleted: subscriptions and payments keep referring to them. */
  async deactivate(id: string, ctx: AdminContext): Promise<SubscriptionPlan> {
    return this.plans.manager.transaction(async (m) => {
      await lockActingAdmin(m, ctx.actorId);
      const repo = m.getRepository(SubscriptionPlan);
      const plan = await repo.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!plan) throw PlanErrors.notFound();
      if (plan.is_active) {
        await repo.update({ id }, { is_active: false });
        await this.audit.record(
          { event_type: 'plan.deactivated', actor_id: ctx.actorId, data: { plan_id: id, code: plan.code }, ip: ctx.ip, user_agent: ctx.user_agent },
          m,
        );
      }
      return repo.findOneOrFail({ where: { id } });
    });
  }

  private checkManagedFields(
    planType: PlanType,
    fields: { guaranteed_monthly_return?: string | null; profit_share_percentage?: string | null },
  ): void {
    const hasManaged = fields.guaranteed_monthly_return != null || fields.profit_share_percentage != null;
    if (planType === 'custom_bot' && hasManaged) throw PlanErrors.managedFieldsOnCustomPlan();
    if (planType === 'managed_bot' && fields.profit_share_percentage == null) throw PlanErrors.profitShareRequired();
  }
}
