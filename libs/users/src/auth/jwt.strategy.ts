import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { InjectDataSource } from '@nestjs/typeorm';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { DataSource } from 'typeorm';
import { AppConfig, AuthUser } from '@torgovo/core';
import { AccessPayload, sessionEndedSql } from './tokens.service';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(config: AppConfig, @InjectDataSource() private readonly ds: DataSource) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), ignoreExpiration: false, secretOrKey: config.jwtSecret, algorithms: ['HS256'] });
  }

  /**
   * One indexed lookup per request so a deactivation, a role change or the end of the token's
   * session (logout, refresh-token reuse detected) takes effect at once, not when the 15-minute
   * token expires. A token without `sid` (issued before sessions were checked) is valid until it expires.
   */
  async validate(payload: AccessPayload): Promise<AuthUser | false> {
    const rows = (await this.ds.query(
      `SELECT id, email, role, is_active FROM users
        WHERE id = $1 AND ($2::uuid IS NULL OR NOT ${sessionEndedSql('$2::uuid')})`,
      [payload.sub, payload.sid ?? null],
    )) as Array<{
      id: string;
      email: string;
      role: AuthUser['role'];
      is_active: boolean;
    }>;
    const u = rows[0];
    if (!u || !u.is_active) return false;
    return { id: u.id, email: u.email, role: u.role, ...(payload.sid ? { session_id: payload.sid } : {}) };
  }
}
