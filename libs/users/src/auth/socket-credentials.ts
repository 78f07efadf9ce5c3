import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DomainError } from '@torgovo/core';
import { PERSONAL_TOKEN_PREFIX, PersonalTokensService } from '../personal-tokens.service';
import { AccessPayload, sessionEndedSql } from './tokens.service';

/** What a socket keeps of its credential: ids to re-check it by, never the token itself. */
export interface SocketIdentity {
  user_id: string;
  via: 'access_token' | 'personal_token';
  /** An access token's expiry (null for a personal token, which does not expire). */
  expires_at: Date | null;
  /** A personal token's row id (null for an access token). */
  token_id: string | null;
  /** An access token's session, the refresh-token family it was issued with (null for a personal token or an access token issued without one). */
  session_id: string | null;
}

/** valid: may receive; expired: the access token expired (reconnect with a fresh one); revoked: the credential or the user ended. */
export type SocketVerdict = 'valid' | 'expired' | 'revoked';

const unauthorized = () => new DomainError('unauthorized', 401, 'Missing, invalid or expired access token');

/**
 * The credentials a still-valid identity must pass, one row per identity ($1 user, $2 token id, $3
 * session id, in step): the user active and not erased; a personal token not revoked; an access
 * token's session not ended. Answers the ordinals of the identities that pass.
 */
const STILL_VALID_SQL = `
  SELECT c.i::int AS i
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) WITH ORDINALITY AS c(user_id, token_id, sid, i)
    JOIN users u ON u.id = c.user_id AND u.is_active AND u.erased_at IS NULL
   WHERE CASE WHEN c.token_id IS NOT NULL
              THEN EXISTS (SELECT 1 FROM personal_access_tokens t WHERE t.id = c.token_id AND t.user_id = c.user_id AND t.revoked_at IS NULL)
              ELSE c.sid IS NULL OR NOT ${sessionEndedSql('c.sid')} END`;

/**
 * The same credentials as the REST API, for a long-lived connection (the live-updates socket):
 * an access token (signature, expiry, user active, session not ended) or a personal access token
 * (not revoked, user active, plan still includes the API). `check` re-decides a batch of sockets'
 * identities at once, right before they are sent something.
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
      return { user_id: user.id, via: 'personal_token', expires_at: null, token_id: user.token_id, session_id: null };
    }
    let payload: AccessPayload & { exp?: number };
    try {
      payload = await this.jwt.verifyAsync<AccessPayload & { exp?: number }>(token, { algorithms: ['HS256'] });
    } catch {
      throw unauthorized();
    }
    const identity: SocketIdentity = {
      user_id: payload.sub,
      via: 'access_token',
      expires_at: payload.exp ? new Date(payload.exp * 1000) : null,
      token_id: null,
      session_id: payload.sid ?? null,
    };
    if ((await this.check([identity])).get(identity) !== 'valid') throw unauthorized();
    return identity;
  }

  /**
   * Whether each identity may still receive, decided now: an access token's expiry against the
   * clock (no query); everything else in one statement for the whole batch (user active and not
   * erased, personal token not revoked, session not ended) and, when personal tokens are among
   * them, the plan's API access for their users in one more, run alongside (the same rule as
   * PersonalTokensService.authenticate, owned by the subscriptions lib).
   */
  async check(identities: readonly SocketIdentity[], now: Date = new Date()): Promise<Map<SocketIdentity, SocketVerdict>> {
    const verdicts = new Map<SocketIdentity, SocketVerdict>();
    const keyed = new Map<string, SocketIdentity[]>();
    for (const id of identities) {
      if (id.expires_at && id.expires_at.getTime() <= now.getTime()) {
        verdicts.set(id, 'expired');
        continue;
      }
      const key = `${id.user_id}|${id.token_id ?? ''}|${id.session_id ?? ''}`;
      keyed.set(key, [...(keyed.get(key) ?? []), id]);
    }
    if (keyed.size === 0) return verdicts;
    const groups = [...keyed.values()];
    const firsts = groups.map((g) => g[0]);
    const tokenUsers = [...new Set(firsts.filter((id) => id.token_id !== null).map((id) => id.user_id))];
    const [rows, withApi] = await Promise.all([
      this.ds.query(STILL_VALID_SQL, [firsts.map((id) => id.user_id), firsts.map((id) => id.token_id), firsts.map((id) => id.session_id)]) as Promise<Array<{ i: number }>>,
      this.personalTokens.apiAccessAmong(tokenUsers),
    ]);
    const passed = new Set(rows.map((r) => r.i - 1));
    groups.forEach((group, i) => {
      const first = group[0];
      const valid = passed.has(i) && (first.token_id === null || withApi.has(first.user_id));
      for (const id of group) verdicts.set(id, valid ? 'valid' : 'revoked');
    });
    return verdicts;
  }
}
