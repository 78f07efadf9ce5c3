import { ApiProperty } from '@nestjs/swagger';
import type { Role } from '@torgovo/core';
import type { User } from '../entities/user.entity';
import type { TokenPair } from '../auth/tokens.service';
import type { ConnectionView } from '../exchange-credentials.service';

export class UserResponse {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  is_active: boolean;
  created_at: string;
}

/** The only way a User leaves the API: the hash and provider ids are never mapped. */
export function toUserResponse(u: User): UserResponse {
  return { id: u.id, email: u.email, full_name: u.full_name, role: u.role, is_active: u.is_active, created_at: u.created_at.toISOString() };
}

export class AuthResponse {
  user: UserResponse;
  /** JWT, valid 15 minutes: send it as `Authorization: Bearer <access_token>`. */
  access_token: string;
  /** Opaque; works once (POST /auth/refresh returns a new pair). */
  refresh_token: string;
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
}

export function toAuthResponse(r: TokenPair & { user: User }): AuthResponse {
  return { user: toUserResponse(r.user), access_token: r.access_token, refresh_token: r.refresh_token, token_type: r.token_type, expires_in: r.expires_in };
}

/** The connected exchange account; the key itself is never returned, only its last characters. */
export class ExchangeAccountResponse {
  /** Exchange id, e.g. "okx". */
  id: string;
  sandbox: boolean;
  api_key_hint: string;
  connected_at: string;
}

/** What the connected key may do, read from the exchange at connect. The key itself is never shown. */
export class ExchangePermissionsResponse {
  read: boolean;
  trade: boolean;
  /** Always false for a key connected since the check: keys that can withdraw are refused (400 key_can_withdraw). */
  withdraw: boolean;
  /** The exchange's own permission names (OKX: read_only, trade). */
  raw: string[];
  /** Whether the key only works from listed IP addresses. */
  ip_bound: boolean;
  /** The addresses the key is bound to; empty when it is not bound. */
  ip_whitelist: string[];
  /** When the exchange was last asked (each connect asks again). */
  checked_at: string;
}

export class ExchangeConnectionResponse {
  exchange_connected: boolean;
  exchange: ExchangeAccountResponse | null;
  /** Null when no key is connected, or for a key connected before permissions were read (connect it again to read them). */
  exchange_permissions: ExchangePermissionsResponse | null;
}

export function toExchangeConnectionResponse(v: ConnectionView): ExchangeConnectionResponse {
  return {
    exchange_connected: v.exchange_connected,
    exchange: v.exchange ? { id: v.exchange.id, sandbox: v.exchange.sandbox, api_key_hint: v.exchange.api_key_hint, connected_at: v.exchange.connected_at.toISOString() } : null,
    exchange_permissions: v.permissions
      ? {
          read: v.permissions.read,
          trade: v.permissions.trade,
          withdraw: v.permissions.withdraw,
          raw: v.permissions.raw,
          ip_bound: v.permissions.ip_whitelist.length > 0,
          ip_whitelist: v.permissions.ip_whitelist,
          checked_at: v.permissions.checked_at.toISOString(),
        }
      : null,
  };
}

export class MeResponse extends UserResponse {
  exchange_connected: boolean;
  exchange: ExchangeAccountResponse | null;
  /** Null when no key is connected, or for a key connected before permissions were read. */
  exchange_permissions: ExchangePermissionsResponse | null;
  /** Current and pending subscriptions (SubscriptionResponse; the users lib cannot import that type). */
  @ApiProperty({ type: 'array', items: { $ref: '#/components/schemas/SubscriptionResponse' } })
  subscriptions: unknown[];
}
