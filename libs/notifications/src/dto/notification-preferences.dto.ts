import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsBoolean, IsIn, ValidateNested } from 'class-validator';
import { IsOptional } from '@torgovo/core';
import { CONFIGURABLE_KINDS, ConfigurableKind } from '../notification-outbox';

export class NotificationPreferenceResponse {
  @ApiProperty({ enum: CONFIGURABLE_KINDS }) kind: ConfigurableKind;
  @ApiProperty() email: boolean;
  @ApiProperty({ description: 'sent only while a chat is linked and the plan includes Telegram' }) telegram: boolean;
}

export class TelegramStatusResponse {
  @ApiProperty({ description: 'a chat is linked' }) linked: boolean;
  @ApiProperty({ description: 'the platform has a bot and your plan includes Telegram notifications' }) available: boolean;
}

export class NotificationSettingsResponse {
  @ApiProperty({ type: [NotificationPreferenceResponse] }) preferences: NotificationPreferenceResponse[];
  @ApiProperty({ type: TelegramStatusResponse }) telegram: TelegramStatusResponse;
}

export class NotificationPreferencePatch {
  @ApiProperty({ enum: CONFIGURABLE_KINDS })
  @IsIn(CONFIGURABLE_KINDS)
  kind: ConfigurableKind;

  @ApiPropertyOptional() @IsOptional() @IsBoolean() email?: boolean;
  @ApiPropertyOptional() @IsOptional() @IsBoolean() telegram?: boolean;
}

export class UpdateNotificationPreferencesDto {
  @ApiProperty({ type: [NotificationPreferencePatch] })
  @ValidateNested({ each: true }) @Type(() => NotificationPreferencePatch) @ArrayMinSize(1) @ArrayMaxSize(CONFIGURABLE_KINDS.length * 2)
  preferences: NotificationPreferencePatch[];
}

export class TelegramLinkResponse {
  @ApiProperty({ description: 'send this code to the bot (or open https://t.me/<bot_username>?start=<code>)', example: 'K7PM2QX9TA' }) code: string;
  @ApiProperty({ example: 'torgovo_bot' }) bot_username: string;
  @ApiProperty({ format: 'date-time', description: 'the code works once, until then' }) expires_at: string;
}
