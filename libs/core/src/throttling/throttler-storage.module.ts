import { Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/config.service';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * Owns the Redis storage so Nest closes its connection at shutdown (an instance made inside
 * ThrottlerModule's factory is not a provider and would keep the process alive).
 */
@Injectable()
export class ThrottlerStorageHolder implements OnApplicationShutdown {
  readonly storage?: RedisThrottlerStorage;

  constructor(config: AppConfig) {
    if (config.env.REDIS_URL) this.storage = new RedisThrottlerStorage(config.env.REDIS_URL);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.storage?.onModuleDestroy();
  }
}

@Module({ providers: [ThrottlerStorageHolder], exports: [ThrottlerStorageHolder] })
export class ThrottlerStorageModule {}
