import { Body, Controller, Delete, Get, HttpCode, Inject, Optional, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, ReqMeta, RequestMeta, SUBSCRIPTIONS_READER, SubscriptionsReader } from '@torgovo/core';
import { ConnectExchangeDto } from './dto/exchange.dto';
import { ExchangeConnectionResponse, MeResponse, toExchangeConnectionResponse, toUserResponse } from './dto/user.response';
import { ExchangeCredentialsService } from './exchange-credentials.service';
import { UsersService } from './users.service';

@ApiTags('users')
@Controller('users/me')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly credentials: ExchangeCredentialsService,
    @Optional() @Inject(SUBSCRIPTIONS_READER) private readonly subscriptions?: SubscriptionsReader,
  ) {}

  /** The signed-in user with their exchange connection and subscriptions. */
  @Get()
  @ApiErrors({ 404: ['not_found'] })
  async me(@CurrentUser() auth: AuthUser): Promise<MeResponse> {
    const [user, connection, subscriptions] = await Promise.all([
      this.users.getById(auth.id),
      this.credentials.view(auth.id),
      this.subscriptions ? this.subscriptions.listForUser(auth.id) : Promise.resolve([]),
    ]);
    return { ...toUserResponse(user), ...toExchangeConnectionResponse(connection), subscriptions };
  }

  /**
   * Reads the key's permissions and IP binding from the exchange and tests it with a balance call,
   * then stores it encrypted. A key that can withdraw is refused (key_can_withdraw). OKX needs the passphrase.
   */
  @Post('exchange')
  @HttpCode(200)
  @ApiErrors({ 400: ['unsupported_exchange', 'exchange_connection_failed', 'key_can_withdraw'] })
  async connect(@CurrentUser() auth: AuthUser, @Body() dto: ConnectExchangeDto, @ReqMeta() meta: RequestMeta): Promise<ExchangeConnectionResponse> {
    return toExchangeConnectionResponse(await this.credentials.connect(auth.id, dto, meta));
  }

  /** Forgets the keys; running live bots stop (exchange_disconnected). */
  @Delete('exchange')
  @HttpCode(204)
  async disconnect(@CurrentUser() auth: AuthUser, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.credentials.disconnect(auth.id, meta);
  }
}
