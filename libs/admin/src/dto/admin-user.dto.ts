import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { IsOptional, IsOptionalOrNull, PageQuery } from '@torgovo/core';
import type { Role } from '@torgovo/core';

const ROLES: Role[] = ['user', 'admin'];
const bool = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

export class AdminUsersQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'part of the email, any case' })
  @IsOptionalOrNull() @IsString() @MinLength(1) @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptionalOrNull() @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptionalOrNull() @Transform(bool) @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({ description: 'code of a plan the user currently holds (e.g. pro)' })
  @IsOptionalOrNull() @IsString() @MinLength(1) @MaxLength(64)
  plan?: string;
}

export class UpdateAdminUserDto {
  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  is_active?: boolean;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional() @IsIn(ROLES)
  role?: Role;
}

export class AdminUserResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() email: string;
  @ApiProperty() full_name: string;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty() is_active: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) last_login_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) erased_at: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class AdminUserPage {
  @ApiProperty({ type: [AdminUserResponse] }) items: AdminUserResponse[];
  @ApiProperty() total: number;
  @ApiProperty() page: number;
  @ApiProperty() limit: number;
}

export class AdminUserDetail extends AdminUserResponse {
  @ApiProperty() exchange_connected: boolean;
  @ApiProperty({ type: String, nullable: true, description: 'exchange id; never the keys' }) exchange: string | null;
  @ApiProperty({ type: 'array', items: { $ref: '#/components/schemas/SubscriptionResponse' }, description: 'as GET /subscriptions' }) subscriptions: unknown[];
  @ApiProperty({ type: 'array', items: { $ref: '#/components/schemas/BotResponse' }, description: 'as GET /bots' }) bots: unknown[];
}
