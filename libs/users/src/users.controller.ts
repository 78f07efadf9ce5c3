import { Body, Controller, Delete, Get, HttpCode, Inject, Optional, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, ReqMeta, RequestMeta, SUBSCRIPTIONS_READER, SubscriptionsReader } from '@torgovo/core';
import { ConnectExchangeDto } from './dto/exchange.dto';
import { MeResponse, toUserResponse } from './dto/user.response';
import { ConnectionView, ExchangeCredentialsService } from './exchange-credentials.service';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users/me')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly credentials: ExchangeCredentialsService,
    @Optional() @Inject(SUBSCRIPTIONS_READER) private readonly subscriptions?: SubscriptionsReader,
  ) {}

  @Get()
  async me(@CurrentUser() auth: AuthUser): Promise<MeResponse> {
    const [user, connection, subscriptions] = await Promise.all([
      this.users.getById(auth.id),
      this.credentials.view(auth.id),
      this.subscriptions ? this.subscriptions.listForUser(auth.id) : Promise.resolve([]),
    ]);
    return { ...toUserResponse(user), ...connection, subscriptions };
  }

  @Post('exchange')
  @HttpCode(200)
  connect(@CurrentUser() auth: AuthUser, @Body() dto: ConnectExchangeDto, @ReqMeta() meta: RequestMeta): Promise<ConnectionView> {
    return this.credentials.connect(auth.id, dto, meta);
  }

  @Delete('exchange')
  @HttpCode(204)
  async disconnect(@CurrentUser() auth: AuthUser, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.credentials.disconnect(auth.id, meta);
  }
}
