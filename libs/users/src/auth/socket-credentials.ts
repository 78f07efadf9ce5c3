import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '@torgovo/core';
import { PERSONAL_TOKEN_PREFIX, PersonalTokensService } from '../personal-tokens.service';
import type { AccessPayload } from './tokens.service';

export interface SocketIdentity {
  user_id: string;
  /** When the credential stops being valid (access token expiry); null for a personal token (checked by re-authenticating). */
  expires_at: Date | null;
  via: 'access_token' | 'personal_token';
}

/**
 * The same credentials as the REST API, for a long-lived connection (the live-updates socket):
 * an access token (signature, expiry, user active) or a personal access token (not revoked, plan
 * still includes the API). `stillActive` re-checks a set of users in one query.
 */
@Injectable()
export class SocketCredentials {
  constructor(
    private readonly jwt: JwtService,
    private readonly personalTokens: PersonalTokensService,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  async authenticate(token: string): Promise<SocketIdentity> {
    if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
      const user = await this.personalTokens.authenticate(token);
      return { user_id: user.id, expires_at: null, via: 'personal_token' };
    }
    let payload: AccessPayload & { exp?: number };
    try {
      payload = await this.jwt.verifyAsync<AccessPayload & { exp?: number }>(token, { algorithms: ['HS256'] });
    } catch {
      throw new DomainError('unauthorized', 401, 'Missing, invalid or expired access token');
    }
    if ((await this.stillActive([payload.sub])).size === 0) throw new DomainError('unauthorized', 401, 'Missing, invalid or expired access token');
    return { user_id: payload.sub, expires_at: payload.exp ? new Date(payload.exp * 1000) : null, via: 'access_token' };
  }

  async stillActive(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const rows = (await this.ds.query(`SELECT id FROM users WHERE id = ANY($1::uuid[]) AND is_active`, [userIds])) as Array<{ id: string }>;
    return new Set(rows.map((r) => r.id));
  }
}
