import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page, PageQuery, ReqMeta, RequestMeta } from '@torgovo/core';
import type { AuditContext } from '@torgovo/subscriptions';
import { CheckoutResponse, CreateCheckoutDto, PortalResponse } from './dto/create-checkout.dto';
import { PaymentResponse } from './dto/payment-response';
import { PaymentsAccountService } from './payments-account.service';
import { StripeCheckoutService } from './stripe/stripe-checkout.service';

const audit = (user: AuthUser, meta: RequestMeta): AuditContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('payments')
@ApiBearerAuth()
@Controller('payments')
export class PaymentsController {
  constructor(
    private readonly checkout: StripeCheckoutService,
    private readonly account: PaymentsAccountService,
  ) {}

  @Post('create-checkout')
  createCheckout(@Body() dto: CreateCheckoutDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CheckoutResponse> {
    return this.checkout.createCheckout(user.id, dto, audit(user, meta));
  }

  @Post('portal')
  @HttpCode(200)
  portal(@CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PortalResponse> {
    return this.account.portal(user.id, audit(user, meta));
  }

  @Get('history')
  history(@Query() q: PageQuery, @CurrentUser() user: AuthUser): Promise<Page<PaymentResponse>> {
    return this.account.history(user.id, q);
  }
}
