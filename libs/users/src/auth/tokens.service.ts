import { createHmac, randomUUID } from 'node:crypto';
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
  /**
   * The session: the refresh-token family the token was issued with. Logout and reuse detection end
   * the family, and with it its access tokens at once (sessionEndedSql). Absent from tokens issued
   * before it existed: those stay valid until they expire (ACCESS_TOKEN_TTL_SECONDS).
   */
  sid?: string;
}

export interface ClientInfo {
  ip?: string | null;
  user_agent?: string | null;
}

export interface SpentToken {
  user_id: string;
  family_id: string;
  /** The refresh token that succeeds the spent one. */
  successor: string;
  /** True when the token had been spent moments ago by the same client: its successor already exists. */
  replay: boolean;
}

/**
 * SQL: the session (refresh-token family) whose id is `sidSql` has ended. Every way a family ends
 * marks its rows revoked (revokeFamily on logout and on reuse detection, revokeAllForUser and the
 * deactivation or erasure of the user), and a family never gets a row after that (spend takes the
 * family lock revokeFamily takes and refuses a revoked row); a spent row only gets used_at. So one
 * revoked row of the family means it ended. Indexed (refresh_tokens_family_idx).
 */
export function sessionEndedSql(sidSql: string): string {
  return `EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family_id = ${sidSql} AND r.revoked_at IS NOT NULL)`;
}

/** pg_advisory_xact_lock namespace for "this refresh-token family is being spent or revoked". */
const FAMILY_LOCK = 7_204_401;

function lockFamily(m: EntityManager, familyId: string): Promise<unknown> {
  return m.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FAMILY_LOCK, familyId]);
}

/**
 * In the transaction of a write that mints a lasting credential (a personal token, a webhook secret):
 * the caller's login session is still live at the write, and stays so until it commits. The guard
 * checked it when the request came in; a logout or a refresh-token reuse detected since (which revokes
 * the family under the family lock, taken here shared) would otherwise let a thief's request already
 * past the guard mint a credential that outlives the session. Without a session id (a personal token,
 * or an access token from before sessions were checked) there is nothing to check. 401 if it ended.
 */
export async function lockLiveSession(m: EntityManager, sessionId: string | undefined): Promise<void> {
  if (!sessionId) return;
  await m.query('SELECT pg_advisory_xact_lock_shared($1, hashtext($2))', [FAMILY_LOCK, sessionId]);
  const [row] = (await m.query(`SELECT ${sessionEndedSql('$1::uuid')} AS ended`, [sessionId])) as Array<{ ended: boolean }>;
  if (row.ended) throw UserErrors.sessionEnded();
}

@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  /** A new pair; `refresh` is the successor chosen by spend() on rotation, random at login. */
  async issue(
    user: { id: string; email: string; role: Role },
    client: ClientInfo,
    manager?: EntityManager,
    familyId: string = randomUUID(),
    refresh: string = randomToken(32),
  ): Promise<TokenPair> {
    await (manager ?? this.ds.manager).getRepository(RefreshToken).insert({
      user_id: user.id,
      family_id: familyId,
      token_hash: sha256Hex(refresh),
      expires_at: new Date(Date.now() + this.config.env.REFRESH_TOKEN_TTL_SECONDS * 1000),
      ip: client.ip ?? null,
      user_agent: client.user_agent ?? null,
    });
    return this.pair(user, refresh, familyId);
  }

  /** The pair around an existing refresh token of `familyId`: a fresh access token, nothing written. */
  async pair(user: { id: string; email: string; role: Role }, refresh: string, familyId: string): Promise<TokenPair> {
    const payload: AccessPayload = { sub: user.id, email: user.email, role: user.role, sid: familyId };
    return {
      access_token: await this.jwt.signAsync(payload),
      refresh_token: refresh,
      token_type: 'Bearer',
      expires_in: this.config.env.ACCESS_TOKEN_TTL_SECONDS,
    };
  }

  /**
   * The refresh token that succeeds `refresh`: HMAC-SHA256 under a key derived from JWT_SECRET.
   * Deterministic, so a concurrent second use of `refresh` can be answered with the same
   * successor without storing it; only a holder of `refresh` AND the server key can compute it,
   * and the database keeps only its SHA-256 like every other refresh token.
   */
  private successorOf(refresh: string): string {
    const key = createHmac('sha256', this.config.jwtSecret).update('torgovo/refresh-successor/v1').digest();
    return createHmac('sha256', key).update(refresh).digest('base64url');
  }

  /**
   * Spend a refresh token. The row is locked so two concurrent uses cannot both win;
   * a token that was already spent throws ReusedRefreshToken, and the caller revokes the whole
   * family outside the rolled-back transaction (theft detection) — except within the grace window:
   * spent less than REFRESH_REUSE_GRACE_SECONDS ago, by the same client (address and user agent
   * that spent it), with its successor still unspent and unrevoked, the second use is a replay
   * (two tabs, React StrictMode's double effects) and gets that same successor.
   */
  async spend(refresh: string, client: ClientInfo, manager: EntityManager): Promise<SpentToken> {
    const repo = manager.getRepository(RefreshToken);
    const found = await repo.findOne({ where: { token_hash: sha256Hex(refresh) } });
    if (!found) throw UserErrors.invalidRefreshToken();
    // The user's row before the token's, in the order a deactivation or erasure takes them (the
    // user, then their tokens): one under way makes this refresh wait and then see the account
    // inactive; one that comes later waits for this refresh, and its revocation sees the successor.
    await manager.query(`SELECT 1 FROM users WHERE id = $1 FOR SHARE`, [found.user_id]);
    // The family lock first (as revokeFamily takes it): a revocation cannot run while a token of
    // the family is being issued, so the token issued here is either refused or revoked with it.
    await lockFamily(manager, found.family_id);
    const row = await repo.findOne({ where: { id: found.id }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw UserErrors.invalidRefreshToken();
    const successor = this.successorOf(refresh);
    const spent = { user_id: row.user_id, family_id: row.family_id, successor };
    // Spent before: someone kept a copy, unless it is the same client's replay. Merely revoked
    // (logout, family already killed): just refuse.
    if (row.used_at) {
      if (await this.isReplay(row, successor, client, manager)) return { ...spent, replay: true };
      throw new ReusedRefreshToken(row.user_id, row.family_id);
    }
    if (row.revoked_at) throw UserErrors.invalidRefreshToken();
    if (row.expires_at.getTime() <= Date.now()) throw UserErrors.invalidRefreshToken();
    await repo.update({ id: row.id }, { used_at: new Date() });
    return { ...spent, replay: false };
  }

  private async isReplay(row: RefreshToken, successor: string, client: ClientInfo, manager: EntityManager): Promise<boolean> {
    const graceMs = this.config.env.REFRESH_REUSE_GRACE_SECONDS * 1000;
    const now = Date.now();
    if (graceMs === 0 || row.revoked_at || !row.used_at || now - row.used_at.getTime() > graceMs || row.expires_at.getTime() <= now) return false;
    const next = await manager.getRepository(RefreshToken).findOne({ where: { token_hash: sha256Hex(successor) } });
    return (
      next !== null &&
      next.family_id === row.family_id &&
      next.used_at === null &&
      next.revoked_at === null &&
      next.expires_at.getTime() > now &&
      next.ip === (client.ip ?? null) &&
      next.user_agent === (client.user_agent ?? null)
    );
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
