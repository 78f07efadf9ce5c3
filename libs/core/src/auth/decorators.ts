import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

export type Role = 'user' | 'admin';

export const IS_PUBLIC = 'torgovo:public';
export const ROLES = 'torgovo:roles';

/** Routes are authenticated by default; this opts one out. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/** What the JWT guard puts on the request. */
export interface AuthUser {
  id: string;
  email: string;
  role: Role;
  /** How the request authenticated: a login's access token, or a personal access token (always role user). */
  via?: 'session' | 'token';
  /** A personal access token's scope: read (GET only) or trade. */
  scope?: 'read' | 'trade';
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
