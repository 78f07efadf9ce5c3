import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '@torgovo/core';
import { UsersService } from '@torgovo/users';

/** The first admin comes from ADMIN_EMAIL/ADMIN_PASSWORD; there is no default password. */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminBootstrap.name);

  constructor(private readonly config: AppConfig, private readonly users: UsersService) {}

  async onApplicationBootstrap(): Promise<void> {
    const { ADMIN_EMAIL, ADMIN_PASSWORD } = this.config.env;
    if (!ADMIN_EMAIL || !ADMIN_PASSWORD) return;
    const { created } = await this.users.ensureAdmin(ADMIN_EMAIL, ADMIN_PASSWORD, 'env');
    if (created) this.logger.log({ email: ADMIN_EMAIL }, 'First admin created from ADMIN_EMAIL');
  }
}
