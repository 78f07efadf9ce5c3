import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery, ReqMeta, RequestMeta } from '@torgovo/core';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './dto/subscription.dto';
import { MySubscriptionsResponse, SubscriptionPage, SubscriptionResponse, toSubscriptionResponse } from './dto/subscription-response';
import { AuditContext } from './subscription-audit';
import { SubscriptionsService } from './subscriptions.service';

const audit = (user: AuthUser, meta: RequestMeta): AuditContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });
const orNull = <T, R>(v: T | undefined, f: (v: T) => R): R | null => (v === undefined ? null : f(v));

@ApiTags('subscriptions')
@Controller('subscriptions')
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  /** A free plan is active at once; a paid one waits in pending_payment (or starts its trial). */
  @Post()
  @ApiErrors({
    400: ['plan_not_found', 'plan_inactive', 'payment_method_required', 'stripe_price_missing'],
    409: ['already_subscribed', 'pending_subscription_exists'],
    502: ['payment_provider_error'],
    503: ['payments_not_configured'],
  })
  async create(@Body() dto: CreateSubscriptionDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<SubscriptionResponse> {
    return toSubscriptionResponse(await this.subscriptions.subscribe(user.id, dto, audit(user, meta)));
  }

  /** The user's subscriptions, newest first. */
  @Get()
  async list(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<SubscriptionPage> {
    const result = await this.subscriptions.list(user.id, q);
    return { ...result, items: result.items.map(toSubscriptionResponse) };
  }

  /** The current subscription per plan type (null when none), with plan details. */
  @Get('my-subscription')
  async mine(@CurrentUser() user: AuthUser): Promise<MySubscriptionsResponse> {
    const { current, pending } = await this.subscriptions.current(user.id);
    return {
      custom_bot: orNull(current.custom_bot, toSubscriptionResponse),
      managed_bot: orNull(current.managed_bot, toSubscriptionResponse),
      pending: {
        custom_bot: orNull(pending.custom_bot, toSubscriptionResponse),
        managed_bot: orNull(pending.managed_bot, toSubscriptionResponse),
      },
    };
  }

  /** One subscription with its plan. */
  @Get(':id')
  @ApiErrors({ 404: ['not_found'] })
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<SubscriptionResponse> {
    return toSubscriptionResponse(await this.subscriptions.get(user.id, id));
  }

  /** Turns auto-renewal or cancel-at-period-end on or off. */
  @Patch(':id')
  @ApiErrors({ 404: ['not_found'], 409: ['invalid_state'], 502: ['payment_provider_error'] })
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdateSubscriptionDto,
    @CurrentUser() user: AuthUser,
    @ReqMeta() meta: RequestMeta,
  ): Promise<SubscriptionResponse> {
    return toSubscriptionResponse(await this.subscriptions.update(user.id, id, dto, audit(user, meta)));
  }

  /** Cancel now: 200 with the subscription, status cancelled (PATCH cancel_at_period_end keeps access to end_date instead). */
  @Delete(':id')
  @ApiErrors({ 404: ['not_found'], 409: ['invalid_state'], 502: ['payment_provider_error'] })
  async cancel(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<SubscriptionResponse> {
    return toSubscriptionResponse(await this.subscriptions.cancel(user.id, id, audit(user, meta)));
  }
}
