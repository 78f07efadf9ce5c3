import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { API_ACCESS_POLICY, ApiAccessPolicy, AuditService, AuthUser, DomainError, Page, page, PageQuery, randomToken, RequestMeta, sha256Hex } from '@torgovo/core';
import { PersonalAccessToken, TokenScope } from './entities/personal-access-token.entity';
import { lockLiveSession } from './auth/tokens.service';

/** Every personal token starts with this, so the auth guard tells it from a JWT without trying both. */
export const PERSONAL_TOKEN_PREFIX = 'tgv_pat_';

/** last_used_at is written at most this often per token, so a busy script costs no write per request. */
const LAST_USED_RESOLUTION_SECONDS = 60;

const Errors = {
  notIncluded: () => new DomainError('api_access_not_included', 403, 'Your plan does not include API access (Enterprise does)'),
  notFound: () => new DomainError('not_found', 404, 'Token not found'),
  invalid: () => new DomainError('unauthorized', 401, 'Missing, invalid or expired access token'),
};

/**
 * Personal access tokens: created for plans that include the API, shown once, stored as sha256,
 * revocable. Whether one may be used is decided on every request (authenticate): revoked, the user
 * deactivated or erased, or the plan no longer including the API → refused at once. A deactivation
 * revokes them (UserAccessService), as it does the sessions: none works again on reactivation.
 */
@Injectable()
export class PersonalTokensService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    @Optional() @Inject(API_ACCESS_POLICY) private readonly policy?: ApiAccessPolicy,
  ) {}

  /** `sessionId`: the caller's login session, checked again at the write (lockLiveSession). */
  async create(userId: string, input: { name: string; scope: TokenScope }, meta: RequestMeta, sessionId?: string): Promise<{ token: string; row: PersonalAccessToken }> {
    if (!(await this.allows(userId))) throw Errors.notIncluded();
    const token = `${PERSONAL_TOKEN_PREFIX}${randomToken(32)}`;
    const row = await this.ds.transaction(async (m) => {
      // Active where the token is made, share-locked: a deactivation or erasure under way (which
      // revokes the user's tokens) waits for this one, or this one sees the account inactive.
      const [current] = (await m.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [userId])) as Array<{ is_active: boolean }>;
      if (!current?.is_active) throw Errors.invalid();
      // The session that asked is still live as the token is made (a logout or a reuse detected since
      // the guard ends it: 401, nothing made).
      await lockLiveSession(m, sessionId);
      const saved = await m.getRepository(PersonalAccessToken).save(
        m.getRepository(PersonalAccessToken).create({ user_id: userId, name: input.name, scope: input.scope, token_hash: sha256Hex(token), token_hint: token.slice(-4) }),
      );
      await this.audit.record({ event_type: 'token.created', user_id: userId, data: { token_id: saved.id, scope: input.scope }, ip: meta.ip, user_agent: meta.user_agent }, m);
      return saved;
    });
    return { token, row: await this.get(userId, row.id) };
  }

  async list(userId: string, q: PageQuery): Promise<Page<PersonalAccessToken>> {
    const [rows, total] = await this.ds.getRepository(PersonalAccessToken).findAndCount({
      where: { user_id: userId },
      order: { created_at: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    return page(rows, total, q);
  }

  /** Revoking a revoked token is a no-op; another user's token is 404. */
  async revoke(userId: string, id: string, meta: RequestMeta): Promise<void> {
    await this.ds.transaction(async (m) => {
      const rows = (await m.query(`SELECT revoked_at FROM personal_access_tokens WHERE id = $1 AND user_id = $2 FOR UPDATE`, [id, userId])) as Array<{ revoked_at: Date | null }>;
      if (rows.length === 0) throw Errors.notFound();
      if (rows[0].revoked_at) return;
      await m.query(`UPDATE personal_access_tokens SET revoked_at = now() WHERE id = $1`, [id]);
      await this.audit.record({ event_type: 'token.revoked', user_id: userId, data: { token_id: id }, ip: meta.ip, user_agent: meta.user_agent }, m);
    });
  }

  /**
   * The user a token stands for, checked now: the token not revoked, the user active, the plan
   * including the API. A token never carries admin rights.
   */
  async authenticate(token: string): Promise<AuthUser & { token_id: string }> {
    const rows = (await this.ds.query(
      `SELECT t.id, t.scope, u.id AS user_id, u.email, u.is_active
         FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL`,
      [sha256Hex(token)],
    )) as Array<{ id: string; scope: TokenScope; user_id: string; email: string; is_active: boolean }>;
    const t = rows[0];
    if (!t || !t.is_active) throw Errors.invalid();
    if (!(await this.allows(t.user_id))) throw Errors.notIncluded();
    await this.ds.query(
      `UPDATE personal_access_tokens SET last_used_at = now()
        WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
      [t.id, LAST_USED_RESOLUTION_SECONDS],
    );
    return { id: t.user_id, email: t.email, role: 'user', via: 'token', scope: t.scope, token_id: t.id };
  }

  /** Of these users, those whose plan includes the API now: the rule authenticate applies, for many users in one statement. */
  apiAccessAmong(userIds: readonly string[]): Promise<Set<string>> {
    if (userIds.length === 0 || !this.policy) return Promise.resolve(new Set());
    return this.policy.allowedAmong(userIds);
  }

  private async get(userId: string, id: string): Promise<PersonalAccessToken> {
    const row = await this.ds.getRepository(PersonalAccessToken).findOne({ where: { id, user_id: userId } });
    if (!row) throw Errors.notFound();
    return row;
  }

  private allows(userId: string): Promise<boolean> {
    // Without the policy (a process with no subscriptions lib) no plan can include the API.
    return this.policy ? this.policy.allows(userId) : Promise.resolve(false);
  }
}
