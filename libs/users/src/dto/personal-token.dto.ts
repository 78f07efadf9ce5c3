import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Length } from 'class-validator';
import type { PersonalAccessToken, TokenScope } from '../entities/personal-access-token.entity';

const SCOPES: TokenScope[] = ['read', 'trade'];

export class CreatePersonalTokenDto {
  @ApiProperty({ maxLength: 100, example: 'my trading script' })
  @IsString() @Length(1, 100)
  name: string;

  @ApiProperty({ enum: SCOPES, description: 'read: GET requests only; trade: also bots, webhooks and orders' })
  @IsIn(SCOPES)
  scope: TokenScope;
}

export class PersonalTokenResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ enum: SCOPES }) scope: TokenScope;
  @ApiProperty({ description: 'last 4 characters of the token' }) token_hint: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) last_used_at: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revoked_at: string | null;
}

export class CreatedPersonalTokenResponse extends PersonalTokenResponse {
  @ApiProperty({ description: 'shown only in this answer; send it as Authorization: Bearer <token>' }) token: string;
}

export class PersonalTokenPage {
  @ApiProperty({ type: [PersonalTokenResponse] }) items: PersonalTokenResponse[];
  @ApiProperty() total: number;
  @ApiProperty() page: number;
  @ApiProperty() limit: number;
}

export function toPersonalTokenResponse(t: PersonalAccessToken): PersonalTokenResponse {
  return {
    id: t.id,
    name: t.name,
    scope: t.scope,
    token_hint: t.token_hint,
    created_at: t.created_at.toISOString(),
    last_used_at: t.last_used_at?.toISOString() ?? null,
    revoked_at: t.revoked_at?.toISOString() ?? null,
  };
}
