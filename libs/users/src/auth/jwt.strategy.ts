import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { InjectDataSource } from '@nestjs/typeorm';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { DataSource } from 'typeorm';
import { AppConfig, AuthUser } from '@torgovo/core';
import type { AccessPayload } from './tokens.service';

@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(config: AppConfig, @InjectDataSource() private readonly ds: DataSource) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), ignoreExpiration: false, secretOrKey: config.jwtSecret, algorithms: ['HS256'] });
  }

  /**
   * One indexed lookup per request so a deactivation or role change takes effect at once,
   * not when the 15-minute token expires.
   */
  async validate(payload: AccessPayload): Promise<AuthUser | false> {
    const rows = (await this.ds.query('SELECT id, email, role, is_active FROM users WHERE id = $1', [payload.sub])) as Array<{
      id: string;
      email: string;
      role: AuthUser['role'];
      is_active: boolean;
    }>;
    const u = rows[0];
    if (!u || !u.is_active) return false;
    return { id: u.id, email: u.email, role: u.role };
  }
}
