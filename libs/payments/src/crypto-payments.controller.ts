import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page, PageQuery, Public, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
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
  UnmatchedDepositResponse,
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
  @ApiCreatedResponse({ type: CryptoPaymentInstructionsResponse })
  initialize(@Body() dto: InitializeCryptoPaymentDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CryptoPaymentInstructionsResponse> {
    return this.okx.initialize(user.id, dto, audit(user, meta));
  }

  @Get('status/:payment_id')
  @ApiOkResponse({ type: CryptoPaymentStatusResponse })
  status(@Param('payment_id', new ParseUUIDPipe()) paymentId: string, @CurrentUser() user: AuthUser): Promise<CryptoPaymentStatusResponse> {
    return this.okx.status(user.id, paymentId);
  }

  @Post('coingate')
  @ApiCreatedResponse({ type: CoinGateCheckoutResponse })
  coingateCheckout(@Body() dto: CoinGateCheckoutDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<CoinGateCheckoutResponse> {
    return this.coingate.checkout(user.id, dto, audit(user, meta));
  }

  /** Public: trusted only through the payment's token and the order fetched back from CoinGate. */
  @Public()
  @Post('callback')
  @HttpCode(200)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
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
  list(@Query() q: PageQuery): Promise<Page<UnmatchedDepositResponse>> {
    return this.deposits.list(q);
  }

  @Post(':id/assign')
  @HttpCode(200)
  @ApiOkResponse({ type: AssignDepositResponse })
  assign(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: AssignDepositDto, @CurrentUser() admin: AuthUser): Promise<AssignDepositResponse> {
    return this.deposits.assign(admin.id, id, dto.payment_id);
  }
}
