import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import { ApiErrors, AuthUser, CurrentUser, Public, ReqMeta, RequestMeta } from '@torgovo/core';
import { AuthService } from './auth/auth.service';
import { LoginDto, RefreshDto, RegisterDto } from './dto/auth.dto';
import { AuthResponse, toAuthResponse as toResponse } from './dto/user.response';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /** A new account (role user) and its first token pair. Rate-limited per address (x-ratelimit-*-auth headers). */
  @Public()
  @UseGuards(ThrottlerGuard)
  @Throttle({ auth: {} })
  @Post('register')
  @ApiErrors({ 409: ['email_taken'], 429: ['too_many_requests'] })
  async register(@Body() dto: RegisterDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.register(dto, meta));
  }

  /** A token pair for an active account. Rate-limited per address (x-ratelimit-*-auth headers). */
  @Public()
  @UseGuards(ThrottlerGuard)
  @Throttle({ auth: {} })
  @Post('login')
  @HttpCode(200)
  @ApiErrors({ 401: ['invalid_credentials'], 429: ['too_many_requests'] })
  async login(@Body() dto: LoginDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.login(dto.email, dto.password, meta));
  }

  /** A new pair; the refresh token sent works once. */
  @Public()
  @Post('refresh')
  @HttpCode(200)
  @ApiErrors({ 401: ['invalid_refresh_token'] })
  async refresh(@Body() dto: RefreshDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.refresh(dto.refresh_token, meta));
  }

  /** Needs the access token (bearer) and the refresh token to revoke. */
  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentUser() user: AuthUser, @Body() dto: RefreshDto, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.auth.logout(user.id, dto.refresh_token, meta);
  }
}
