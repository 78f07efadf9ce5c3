import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import { AuthUser, CurrentUser, Public, ReqMeta, RequestMeta } from '@torgovo/core';
import { AuthResult, AuthService } from './auth/auth.service';
import { LoginDto, RefreshDto, RegisterDto } from './dto/auth.dto';
import { toUserResponse, UserResponse } from './dto/user.response';

type AuthResponse = Omit<AuthResult, 'user'> & { user: UserResponse };

const toResponse = (r: AuthResult): AuthResponse => ({ ...r, user: toUserResponse(r.user) });

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @UseGuards(ThrottlerGuard)
  @Throttle({ auth: {} })
  @Post('register')
  async register(@Body() dto: RegisterDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.register(dto, meta));
  }

  @Public()
  @UseGuards(ThrottlerGuard)
  @Throttle({ auth: {} })
  @Post('login')
  @HttpCode(200)
  async login(@Body() dto: LoginDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.login(dto.email, dto.password, meta));
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body() dto: RefreshDto, @ReqMeta() meta: RequestMeta): Promise<AuthResponse> {
    return toResponse(await this.auth.refresh(dto.refresh_token, meta));
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(204)
  async logout(@CurrentUser() user: AuthUser, @Body() dto: RefreshDto, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.auth.logout(user.id, dto.refresh_token, meta);
  }
}
