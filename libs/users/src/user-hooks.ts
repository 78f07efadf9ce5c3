import { Injectable } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import type { EntityManager } from 'typeorm';

/** A user removed their exchange keys: `exchange` is the id of the credential that was deleted. */
export interface ExchangeDisconnectedEvent {
  user_id: string;
  exchange: string;
}

/**
 * Implemented by libs that act on a user's exchange account (custom-bots stops the live bots).
 * Called inside the transaction that deletes the credential: write with `manager`, so the
 * bots stop if and only if the keys are gone. Throwing rolls the disconnect back.
 */
export interface ExchangeDisconnectListener {
  onExchangeDisconnected(event: ExchangeDisconnectedEvent, manager: EntityManager): Promise<void>;
}

/** Implemented by libs that run things for a user (custom-bots stops every bot): same transaction rules. */
export interface UserDeactivatedListener {
  onUserDeactivated(userId: string, manager: EntityManager): Promise<void>;
}

/** Implemented by libs that hold something the user pays for or runs (subscriptions end): same transaction rules. */
export interface UserErasedListener {
  onUserErased(userId: string, adminId: string | null, manager: EntityManager): Promise<void>;
}

/**
 * Implemented by the lib that sends with exchange keys (trading): whether an order sent with this
 * credential is still unresolved, so its keys must be kept (sealed) to look it up.
 */
export interface CredentialUseSource {
  credentialInUse(credentialId: string, manager: EntityManager): Promise<boolean>;
}

/**
 * Which sends a change must outlive: the user's, of one bot, of one followed managed bot, or of one
 * mode (live: the exchange keys).
 */
export interface SendScope {
  user_id: string;
  bot_id?: string;
  managed_bot_id?: string;
  mode?: 'live' | 'paper';
}

/**
 * Implemented by the lib that sends orders (trading): resolves once no send decided before the call
 * can still reach the exchange (bounded by the exchange call's timeout). Called AFTER the change
 * committed and before it is answered, so "stopped" means nothing more arrives on the exchange.
 */
export interface SendsSettledSource {
  settled(scope: SendScope): Promise<void>;
}

/**
 * Where other libs plug into user lifecycle changes. The listeners live in libs that depend on
 * this one, so they register themselves in onModuleInit (as with SubscriptionHooks).
 */
@Injectable()
export class UserHooks {
  private readonly disconnectListeners: ExchangeDisconnectListener[] = [];
  private readonly deactivationListeners: UserDeactivatedListener[] = [];
  private readonly erasureListeners: UserErasedListener[] = [];
  private readonly credentialUses: CredentialUseSource[] = [];
  private readonly sendFences: SendsSettledSource[] = [];

  addSendsSettled(source: SendsSettledSource): void {
    if (!this.sendFences.includes(source)) this.sendFences.push(source);
  }

  /** After a committed change that stops sends (keys disconnected or replaced, user deactivated): waits for sends already decided. */
  async sendsSettled(scope: SendScope): Promise<void> {
    for (const source of this.sendFences) await source.settled(scope);
  }

  addCredentialUse(source: CredentialUseSource): void {
    if (!this.credentialUses.includes(source)) this.credentialUses.push(source);
  }

  /** true when a source needs the keys, or when none is registered (then nothing can tell: keep them). */
  async credentialInUse(credentialId: string, manager: EntityManager): Promise<boolean> {
    if (this.credentialUses.length === 0) return true;
    for (const source of this.credentialUses) if (await source.credentialInUse(credentialId, manager)) return true;
    return false;
  }

  addDisconnectListener(listener: ExchangeDisconnectListener): void {
    if (!this.disconnectListeners.includes(listener)) this.disconnectListeners.push(listener);
  }

  addDeactivationListener(listener: UserDeactivatedListener): void {
    if (!this.deactivationListeners.includes(listener)) this.deactivationListeners.push(listener);
  }

  addErasureListener(listener: UserErasedListener): void {
    if (!this.erasureListeners.includes(listener)) this.erasureListeners.push(listener);
  }

  async erased(userId: string, adminId: string | null, manager: EntityManager): Promise<void> {
    for (const listener of this.erasureListeners) await listener.onUserErased(userId, adminId, manager);
  }

  async disconnected(event: ExchangeDisconnectedEvent, manager: EntityManager): Promise<void> {
    for (const listener of this.disconnectListeners) await listener.onExchangeDisconnected(event, manager);
  }

  async deactivated(userId: string, manager: EntityManager): Promise<void> {
    for (const listener of this.deactivationListeners) await listener.onUserDeactivated(userId, manager);
  }
}

/**
 * The users lib's hooks where UsersModule is loaded, else undefined: for libs that sit beside or below
 * users and do not import UsersModule (hosts without it have nobody deactivating users or removing keys).
 */
export function optionalUserHooks(moduleRef: ModuleRef): UserHooks | undefined {
  try {
    return moduleRef.get(UserHooks, { strict: false });
  } catch {
    return undefined;
  }
}
