import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@torgovo/core';
import { AuthController } from './auth.controller';
import { AuthService } from './auth/auth.service';
import { JwtStrategy } from './auth/jwt.strategy';
import { SocketCredentials } from './auth/socket-credentials';
import { PasswordService } from './auth/password.service';
import { TokensService } from './auth/tokens.service';
import { refreshTokenRetention } from './auth/refresh-token-retention';
import { ExchangeCredential } from './entities/exchange-credential.entity';
import { PersonalAccessToken } from './entities/personal-access-token.entity';
import { PersonalTokensController } from './personal-tokens.controller';
import { PersonalTokensService } from './personal-tokens.service';
import { RefreshToken } from './entities/refresh-token.entity';
import { User } from './entities/user.entity';
import { ExchangeCredentialsService } from './exchange-credentials.service';
import { CredentialResealService } from './credential-reseal.service';
import { SecretResealConfig } from './secret-reseal.config';
import { UserAccessService } from './user-access.service';
import { UserHooks } from './user-hooks';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

/** EXCHANGE_CREDENTIAL_TESTER is provided globally by the trading lib (it depends on users). */
@Module({
  imports: [
    TypeOrmModule.forFeature([User, RefreshToken, ExchangeCredential, PersonalAccessToken]),
    PassportModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret,
        signOptions: { expiresIn: config.env.ACCESS_TOKEN_TTL_SECONDS, algorithm: 'HS256' },
      }),
    }),
  ],
  controllers: [AuthController, UsersController, PersonalTokensController],
  providers: [UsersService, UserAccessService, PersonalTokensService, PasswordService, TokensService, AuthService, ExchangeCredentialsService, UserHooks, refreshTokenRetention, JwtStrategy, SocketCredentials,
    { provide: SecretResealConfig, useFactory: () => SecretResealConfig.fromEnv(process.env) },
    CredentialResealService,
  ],
  exports: [UsersService, UserAccessService, PersonalTokensService, PasswordService, TokensService, AuthService, ExchangeCredentialsService, UserHooks, JwtModule, SocketCredentials, SecretResealConfig, CredentialResealService],
})
export class UsersModule {}
