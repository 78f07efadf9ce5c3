import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService, RequestMeta } from '@torgovo/core';
import { User } from '../entities/user.entity';
import { UserErrors } from '../errors';
import { UsersService } from '../users.service';
import { PasswordService } from './password.service';
import { ReusedRefreshToken, TokenPair, TokensService } from './tokens.service';

export interface AuthResult extends TokenPair {
  user: User;
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly users: UsersService,
    private readonly passwords: PasswordService,
    private readonly tokens: TokensService,
    private readonly audit: AuditService,
  ) {}

  async register(input: { email: string; password: string; full_name: string }, meta: RequestMeta): Promise<AuthResult> {
    const hash = await this.passwords.hash(input.password);
    return this.ds.transaction(async (m) => {
      const user = await this.users.create(input, m, hash);
      const pair = await this.tokens.issue(user, meta, m);
      await this.audit.record({ event_type: 'auth.register', user_id: user.id, ip: meta.ip, user_agent: meta.user_agent }, m);
      return { user, ...pair };
    });
  }

  async login(email: string, password: string, meta: RequestMeta): Promise<AuthResult> {
    const found = await this.users.findByEmailWithHash(email);
    const ok = await this.passwords.verify(found?.password_hash, password);
    const refuse = async (reason: string): Promise<never> => {
      // Deactivated users get the same answer as a wrong password: nothing to probe.
      await this.audit.record({ event_type: 'auth.login_failed', user_id: found?.id ?? null, data: { reason }, ip: meta.ip, user_agent: meta.user_agent });
      throw UserErrors.invalidCredentials();
    };
    if (!found || !ok || !found.is_active) return refuse(!found ? 'unknown_email' : !ok ? 'wrong_password' : 'deactivated');
    const issued = await this.ds.transaction(async (m) => {
      // Active again where the session is made: a deactivation or erasure committing during the
      // password check (argon2: tens of ms) revoked every refresh token but this one, which would
      // work again on reactivation. Share-locked: one committing now waits for this login.
      const [current] = (await m.query(`SELECT is_active FROM users WHERE id = $1 FOR SHARE`, [found.id])) as Array<{ is_active: boolean }>;
      if (!current?.is_active) return null;
      const pair = await this.tokens.issue(found, meta, m);
      await m.query(`UPDATE users SET last_login_at = now() WHERE id = $1`, [found.id]);
      await this.audit.record({ event_type: 'auth.login', user_id: found.id, ip: meta.ip, user_agent: meta.user_agent }, m);
      const { password_hash: _omit, ...user } = found;
      void _omit;
      return { user: user as User, ...pair };
    });
    return issued ?? refuse('deactivated');
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<AuthResult> {
    try {
      return await this.ds.transaction(async (m) => {
        const spent = await this.tokens.spend(refreshToken, meta, m);
        const user = await this.users.findById(spent.user_id, m);
        if (!user || !user.is_active) throw UserErrors.invalidRefreshToken();
        // A replay within the grace window answers with the successor already issued.
        const pair = spent.replay ? await this.tokens.pair(user, spent.successor, spent.family_id) : await this.tokens.issue(user, meta, m, spent.family_id, spent.successor);
        return { user, ...pair };
      });
    } catch (err) {
      if (err instanceof ReusedRefreshToken) {
        await this.tokens.revokeFamily(err.familyId);
        await this.audit.record({
          event_type: 'auth.refresh_reuse',
          user_id: err.userId,
          data: { family_id: err.familyId },
          ip: meta.ip,
          user_agent: meta.user_agent,
        });
        this.logger.warn({ user_id: err.userId, family_id: err.familyId }, 'Refresh token reuse: token family revoked');
        throw UserErrors.invalidRefreshToken();
      }
      throw err;
    }
  }

  async logout(userId: string, refreshToken: string, meta: RequestMeta): Promise<void> {
    const revoked = await this.tokens.revokeByToken(refreshToken, userId);
    await this.audit.record({ event_type: 'auth.logout', user_id: userId, data: { revoked }, ip: meta.ip, user_agent: meta.user_agent });
  }
}
