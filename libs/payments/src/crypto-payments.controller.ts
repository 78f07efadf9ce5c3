import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery, Public, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
import type { AuditContext } from '@torgovo/subscriptions';
import { CoinGatePaymentsService } from './coingate/coingate-payments.service';
import { parseCallbackBody } from './coingate/coingate-callback-body.hooks';
import { CryptoPaymentsService } from './crypto/crypto-payments.service';
import { UnmatchedDepositsService } from './crypto/unmatched-deposits.service';
import {
  AssignDepositDto,
  AssignDepositResponse,
  CallbackResponse,
  CoinGateCheckoutDto,
  CoinGateCheckoutResponse,
  CryptoPaymentInstructionsResponse,
  CryptoPaymentStatusResponse,
  InitializeCryptoPaymentDto,
  UnmatchedDepositPage,
} from './dto/crypto.dto';

const audit = (user: AuthUser, meta: RequestMeta): AuditContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('payments')
@ApiBearerAuth()
@Controller('payments/crypto')
export class CryptoPaymentsController {
  constructor(
    private readonly okx: CryptoPaymentsService,
    private readonly coingate: CoinGatePaymentsService,
  ) {}

  @Post('initialize')
  @ApiErrors({ 400: ['unsupported_crypto_currency', 'unsupported_network', 'plan_not_found', 'plan_inactive', 'payment_method_required'], 409: ['already_subscribed', 'pending_subscription_exists', 'not_payable_in_crypto', 'invalid_state', 'subscription_ended', 'payment_in_progress'], 502: ['payment_provider_error'], 503: ['payments_not_configured', 'crypto_amounts_exhausted'] })
  @ApiCreatedResponse({ type: CryptoPaymentInstructionsResponse })
  initialize(@Body() dto: InitializeCryptoPaymentDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CryptoPaymentInstructionsResponse> {
    return this.okx.initialize(user.id, dto, audit(user, meta));
  }

  @Get('status/:payment_id')
  @ApiErrors({ 404: ['payment_not_found'] })
  @ApiOkResponse({ type: CryptoPaymentStatusResponse })
  status(@Param('payment_id', new ParseUUIDPipe()) paymentId: string, @CurrentUser() user: AuthUser): Promise<CryptoPaymentStatusResponse> {
    return this.okx.status(user.id, paymentId);
  }

  @Post('coingate')
  @ApiErrors({ 400: ['plan_not_found', 'plan_inactive', 'payment_method_required'], 409: ['already_subscribed', 'pending_subscription_exists', 'not_payable_in_crypto', 'invalid_state', 'subscription_ended', 'payment_in_progress'], 502: ['payment_provider_error'], 503: ['payments_not_configured', 'crypto_amounts_exhausted'] })
  @ApiCreatedResponse({ type: CoinGateCheckoutResponse })
  coingateCheckout(@Body() dto: CoinGateCheckoutDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CoinGateCheckoutResponse> {
    return this.coingate.checkout(user.id, dto, audit(user, meta));
  }

  /** Public: trusted only through the payment's token and the order fetched back from CoinGate. */
  @Public()
  @Post('callback')
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiErrors({ 400: ['invalid_callback'], 502: ['payment_provider_error'], 503: ['payments_not_configured'] })
  @ApiOkResponse({ type: CallbackResponse })
  callback(@Body() body: unknown, @ReqMeta() meta: RequestMeta): Promise<CallbackResponse> {
    return this.coingate.callback(parseCallbackBody(body), { ip: meta.ip });
  }
}

@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin/payments/unmatched')
export class UnmatchedDepositsController {
  constructor(private readonly deposits: UnmatchedDepositsService) {}

  @Get()
  @ApiOkResponse({ type: UnmatchedDepositPage })
  list(@Query() q: PageQuery): Promise<UnmatchedDepositPage> {
    return this.deposits.list(q);
  }

  @Post(':id/assign')
  @ApiErrors({ 404: ['deposit_not_found', 'payment_not_found'], 409: ['deposit_not_assignable', 'payment_not_assignable'] })
  @HttpCode(200)
  @ApiOkResponse({ type: AssignDepositResponse })
  assign(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: AssignDepositDto, @CurrentUser() admin: AuthUser, @ReqMeta() meta: RequestMeta): Promise<AssignDepositResponse> {
    return this.deposits.assign({ id: admin.id, ip: meta.ip, user_agent: meta.user_agent }, id, dto.payment_id);
  }
}
