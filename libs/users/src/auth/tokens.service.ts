import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { AppConfig, randomToken, Role, sha256Hex } from '@torgovo/core';
import { RefreshToken } from '../entities/refresh-token.entity';
import { UserErrors } from '../errors';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface AccessPayload {
  sub: string;
  email: string;
  role: Role;
}

export interface ClientInfo {
  ip?: string | null;
  user_agent?: string | null;
}

/** pg_advisory_xact_lock namespace for "this refresh-token family is being spent or revoked". */
const FAMILY_LOCK = 7_204_401;

function lockFamily(m: EntityManager, familyId: string): Promise<unknown> {
  return m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FAMILY_LOCK, familyId]);
}

@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  async issue(user: { id: string; email: string; role: Role }, client: ClientInfo, manager?: EntityManager, familyId: string = randomUUID()): Promise<TokenPair> {
    const refresh = randomToken(32);
    await (manager ?? this.ds.manager).getRepository(RefreshToken).insert({
      user_id: user.id,
      family_id: familyId,
      token_hash: sha256Hex(refresh),
      expires_at: new Date(Date.now() + this.config.env.REFRESH_TOKEN_TTL_SECONDS * 1000),
      ip: client.ip ?? null,
      user_agent: client.user_agent ?? null,
    });
    const payload: AccessPayload = { sub: user.id, email: user.email, role: user.role };
    return {
      access_token: await this.jwt.signAsync(payload),
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: this.config.env.ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  /**
   * Spend a refresh token. The row is locked so two concurrent uses cannot both win;
   * a token that was already spent throws ReusedRefreshToken, and the caller
   * revokes the whole family outside the rolled-back transaction (theft detection). Returns the token's user id and family for the caller to issue the next pair.
   */
  async spend(refresh: string, manager: EntityManager): Promise<{ user_id: string; family_id: string }> {
    const repo = manager.getRepository(RefreshToken);
    const found = await repo.findOne({ where: { token_hash: sha256Hex(refresh) } });
    if (!found) throw UserErrors.invalidRefreshToken();
    // The family lock first (as revokeFamily takes it): a revocation cannot run while a token of
    // the family is being issued, so the token issued here is either refused or revoked with it.
    await lockFamily(manager, found.family_id);
    const row = await repo.findOne({ where: { id: found.id }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw UserErrors.invalidRefreshToken();
    // Spent before: someone kept a copy. Merely revoked (logout, family already killed): just refuse.
    if (row.used_at) throw new ReusedRefreshToken(row.user_id, row.family_id);
    if (row.revoked_at) throw UserErrors.invalidRefreshToken();
    if (row.expires_at.getTime() <= Date.now()) throw UserErrors.invalidRefreshToken();
    await repo.update({ id: row.id }, { used_at: new Date() });
    return { user_id: row.user_id, family_id: row.family_id };
  }

  async revokeFamily(familyId: string, manager?: EntityManager): Promise<void> {
    const revoke = async (m: EntityManager): Promise<void> => {
      await lockFamily(m, familyId);
      await m.getRepository(RefreshToken).update({ family_id: familyId, revoked_at: IsNull() }, { revoked_at: new Date() });
    };
    await (manager ? revoke(manager) : this.ds.transaction(revoke));
  }

  /** Logout: revoke the family of this token, only if it belongs to the caller. */
  async revokeByToken(refresh: string, userId: string): Promise<boolean> {
    const row = await this.ds.getRepository(RefreshToken).findOne({ where: { token_hash: sha256Hex(refresh), user_id: userId } });
    if (!row) return false;
    await this.revokeFamily(row.family_id);
    return true;
  }

  async revokeAllForUser(userId: string, manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).getRepository(RefreshToken).update({ user_id: userId, revoked_at: IsNull() }, { revoked_at: new Date() });
  }
}

/** A spent or revoked token came back: someone holds a copy. */
export class ReusedRefreshToken extends Error {
  constructor(readonly userId: string, readonly familyId: string) {
    super('Refresh token reuse detected');
  }
}
