import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { CustomBotsModule } from '@torgovo/custom-bots';
import { UsersModule } from '@torgovo/users';
import { TradingModule } from '@torgovo/trading';

/** CustomBotsModule registers the listeners that stop a deactivated user's bots. */
@Module({ imports: [CoreModule.forRoot({ appName: 'cli' }), UsersModule, TradingModule, CustomBotsModule] })
export class CliModule {}
