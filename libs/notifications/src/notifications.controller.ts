import { Body, Controller, Get, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser } from '@torgovo/core';
import { NotificationSettingsResponse, TelegramLinkResponse, UpdateNotificationPreferencesDto } from './dto/notification-preferences.dto';
import { NotificationPreferencesService } from './notification-preferences.service';
import { TelegramLinks } from './telegram/telegram-links';

@ApiTags('users')
@ApiBearerAuth()
@Controller('users/me')
export class NotificationsController {
  constructor(
    private readonly preferences: NotificationPreferencesService,
    private readonly links: TelegramLinks,
  ) {}

  @Get('notifications')
  @ApiOkResponse({ type: NotificationSettingsResponse })
  get(@CurrentUser() user: AuthUser): Promise<NotificationSettingsResponse> {
    return this.preferences.get(user.id);
  }

  @Patch('notifications')
  @ApiOkResponse({ type: NotificationSettingsResponse })
  @ApiErrors({ 400: ['validation_failed'] })
  update(@CurrentUser() user: AuthUser, @Body() dto: UpdateNotificationPreferencesDto): Promise<NotificationSettingsResponse> {
    return this.preferences.update(user.id, dto.preferences);
  }

  /** A one-time code to send to the platform's bot; the chat that sends it is linked. */
  @Post('telegram/link')
  @ApiCreatedResponse({ type: TelegramLinkResponse })
  @ApiErrors({ 403: ['telegram_not_included'], 503: ['telegram_unavailable'] })
  link(@CurrentUser() user: AuthUser): Promise<TelegramLinkResponse> {
    return this.links.createCode(user.id);
  }
}
