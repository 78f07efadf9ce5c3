import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsNotEmpty, IsString, MaxLength, MinLength } from 'class-validator';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class RegisterDto {
  @ApiProperty({ example: 'trader@example.com' })
  @Transform(trim) @IsEmail() @MaxLength(320)
  email: string;

  @ApiProperty({ minLength: 8, maxLength: 128 })
  @IsString() @MinLength(8) @MaxLength(128)
  password: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  @Transform(trim) @IsString() @IsNotEmpty() @MaxLength(200)
  full_name: string;
}

export class LoginDto {
  @ApiProperty() @Transform(trim) @IsEmail() @MaxLength(320)
  email: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(128)
  password: string;
}

export class RefreshDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(256)
  refresh_token: string;
}
