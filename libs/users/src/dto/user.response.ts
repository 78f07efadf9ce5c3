import type { User } from '../entities/user.entity';
import type { ConnectionView } from '../exchange-credentials.service';

export interface UserResponse {
  id: string;
  email: string;
  full_name: string;
  role: string;
  is_active: boolean;
  created_at: string;
}

/** The only way a User leaves the API: the hash and provider ids are never mapped. */
export function toUserResponse(u: User): UserResponse {
  return { id: u.id, email: u.email, full_name: u.full_name, role: u.role, is_active: u.is_active, created_at: u.created_at.toISOString() };
}

export interface MeResponse extends UserResponse {
  exchange_connected: boolean;
  exchange: ConnectionView['exchange'];
  subscriptions: unknown[];
}
