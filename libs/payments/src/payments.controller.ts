import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery, ReqMeta, RequestMeta } from '@torgovo/core';
import type { AuditContext } from '@torgovo/subscriptions';
import { CheckoutResponse, CreateCheckoutDto, PortalResponse } from './dto/create-checkout.dto';
import { PaymentPage } from './dto/payment-response';
import { PaymentsAccountService } from './payments-account.service';
import { StripeCheckoutService } from './stripe/stripe-checkout.service';

const audit = (user: AuthUser, meta: RequestMeta): AuditContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('payments')
@Controller('payments')
export class PaymentsController {
  constructor(
    private readonly checkout: StripeCheckoutService,
    private readonly account: PaymentsAccountService,
  ) {}

  /** A Stripe Checkout session for a paid plan (card); access starts when Stripe confirms the payment. */
  @Post('create-checkout')
  @ApiErrors({
    400: ['plan_not_found', 'plan_inactive', 'stripe_price_missing', 'payment_method_required'],
    409: ['already_subscribed', 'pending_subscription_exists', 'payment_in_progress', 'not_payable_by_card'],
    502: ['payment_provider_error'],
    503: ['payments_not_configured'],
  })
  createCheckout(@Body() dto: CreateCheckoutDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CheckoutResponse> {
    return this.checkout.createCheckout(user.id, dto, audit(user, meta));
  }

  /** A Stripe Customer Portal session (cards, invoices, cancel). */
  @Post('portal')
  @HttpCode(200)
  @ApiErrors({ 409: ['no_billing_account'], 502: ['payment_provider_error'], 503: ['payments_not_configured'] })
  portal(@CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PortalResponse> {
    return this.account.portal(user.id, audit(user, meta));
  }

  /** The user's payments, newest first. */
  @Get('history')
  history(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<PaymentPage> {
    return this.account.history(user.id, q);
  }
}
