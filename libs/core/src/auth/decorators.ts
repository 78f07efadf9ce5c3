import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { X_ADMIN_ONLY, X_PUBLIC } from '../openapi/api-errors';

export type Role = 'user' | 'admin';

export const IS_PUBLIC = 'torgovo:public';
export const ROLES = 'torgovo:roles';

/** Routes are authenticated by default; this opts one out. */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(X_PUBLIC, true));
export const Roles = (...roles: Role[]) =>
  applyDecorators(SetMetadata(ROLES, roles), ...(roles.includes('admin') ? [ApiExtension(X_ADMIN_ONLY, true)] : []));

/** What the JWT guard puts on the request. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  /** How the request authenticated: a login's access token, or a personal access token (always role user). */
  via?: 'session' | 'token';
  /** A personal access token's scope: read (GET only) or trade. */
  scope?: 'read' | 'trade';
  /**
   * A login's session (its refresh-token family, the access token's `sid`): what mints a lasting
   * credential checks it again at the write (lockLiveSession). Absent for personal tokens and for
   * access tokens issued before sessions were checked.
   */
  session_id?: string;
}

export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  const req = ctx.switchToHttp().getRequest<{ user: AuthUser }>();
  return req.user;
});

export interface RequestMeta {
  ip: string;
  user_agent: string | null;
  request_id: string;
}

export const ReqMeta = createParamDecorator((_data: unknown, ctx: ExecutionContext): RequestMeta => {
  const req = ctx.switchToHttp().getRequest<{ ip: string; id: string; headers: Record<string, string | undefined> }>();
  return { ip: req.ip, user_agent: req.headers['user-agent']?.slice(0, 512) ?? null, request_id: String(req.id) };
});
