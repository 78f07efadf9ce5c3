import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import { CredentialUseSource, optionalUserHooks } from '@torgovo/users';

/**
 * Tells the users lib whether retired exchange keys must be kept: an order sent with them is not
 * resolved yet (it may be on the exchange and is looked up with those keys). Registered wherever
 * UsersModule is loaded (api and worker); UserHooks is looked up, not imported, because users sits
 * below trading and imports nothing from it.
 */
@Injectable()
export class OrderCredentialUse implements CredentialUseSource, OnModuleInit {
  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    optionalUserHooks(this.moduleRef)?.addCredentialUse(this);
  }

  async credentialInUse(credentialId: string, manager: EntityManager): Promise<boolean> {
    const rows = (await manager.query(
      `SELECT 1 FROM orders WHERE credential_id = $1 AND status IN ('pending', 'submitting', 'open') LIMIT 1`,
      [credentialId],
    )) as unknown[];
    return rows.length > 0;
  }
}
