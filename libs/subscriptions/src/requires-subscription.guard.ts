import { applyDecorators, CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthUser, DomainError } from '@torgovo/core';
import type { PlanType } from '@torgovo/plans';
import { Entitlement, EntitlementsService } from './entitlements.service';

export const REQUIRES_SUBSCRIPTION = 'torgovo:requires-subscription';

export interface RequiresSubscriptionOptions {
  /** The route always trades live; routes where live depends on the body call EntitlementsService themselves. */
  live?: boolean;
}

interface Requirement {
  planType: PlanType;
  live: boolean;
}

interface EntitledRequest {
  user?: AuthUser;
  entitlement?: Entitlement;
}

@Injectable()
export class SubscriptionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly entitlements: EntitlementsService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const requirement = this.reflector.getAllAndOverride<Requirement | undefined>(REQUIRES_SUBSCRIPTION, [ctx.getHandler(), ctx.getClass()]);
    if (!requirement) return true;
    const req = ctx.switchToHttp().getRequest<EntitledRequest>();
    if (!req.user) throw new DomainError('unauthorized', 401, 'Authentication required');
    req.entitlement = await this.entitlements.require(req.user.id, requirement.planType, { live: requirement.live });
    return true;
  }
}

/**
 * 403 no_active_subscription / live_trading_not_allowed before the handler runs. The
 * module of the controller must import SubscriptionsModule (for EntitlementsService).
 * Limits (max_bots, pairs) need counts only the caller has: see EntitlementsService.assertCanRunBot.
 */
export const RequiresSubscription = (planType: PlanType, options: RequiresSubscriptionOptions = {}) =>
  applyDecorators(SetMetadata(REQUIRES_SUBSCRIPTION, { planType, live: options.live ?? false } satisfies Requirement), UseGuards(SubscriptionGuard));

/** The entitlement the guard checked, so the handler need not query it again. */
export const CurrentEntitlement = createParamDecorator((_data: unknown, ctx: ExecutionContext): Entitlement | undefined => {
  return ctx.switchToHttp().getRequest<EntitledRequest>().entitlement;
});
