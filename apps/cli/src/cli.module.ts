import { Module } from '@nestjs/common';
import { CoreModule } from '@torgovo/core';
import { UsersModule } from '@torgovo/users';
import { TradingModule } from '@torgovo/trading';

@Module({ imports: [CoreModule.forRoot({ appName: 'cli' }), UsersModule, TradingModule] })
export class CliModule {}
