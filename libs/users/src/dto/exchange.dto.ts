import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { IsOptional, SUPPORTED_EXCHANGES } from '@torgovo/core';

export class ConnectExchangeDto {
  @ApiProperty({ enum: SUPPORTED_EXCHANGES }) @IsIn(SUPPORTED_EXCHANGES)
  exchange: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(256)
  api_key: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(512)
  secret: string;

  @ApiPropertyOptional({ description: 'Required for OKX' }) @IsOptional() @IsString() @IsNotEmpty() @MaxLength(256)
  passphrase?: string;

  @ApiPropertyOptional({ description: 'OKX demo trading' }) @IsOptional() @IsBoolean()
  sandbox?: boolean;
}
