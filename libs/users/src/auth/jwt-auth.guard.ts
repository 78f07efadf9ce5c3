import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { AuthUser, DomainError, IS_PUBLIC } from '@torgovo/core';
import { PERSONAL_TOKEN_PREFIX, PersonalTokensService } from '../personal-tokens.service';
import { assertTokenMayCall } from './personal-token-policy';

interface GuardedRequest {
  method: string;
  url: string;
  /** Fastify: the route the router matched (its pattern, e.g. /api/bots/:id), after decoding the path. */
  routeOptions?: { url?: string };
  headers: Record<string, string | string[] | undefined>;
  user?: AuthUser;
}

/**
 * Global: every route needs a valid access token unless marked @Public(). A bearer that is a
 * personal access token (tgv_pat_…) is checked by PersonalTokensService and the token policy instead.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(
    private readonly reflector: Reflector,
    private readonly personalTokens: PersonalTokensService,
  ) {
    super();
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<GuardedRequest>();
    const header = req.headers.authorization;
    if (typeof header === 'string' && header.startsWith(`Bearer ${PERSONAL_TOKEN_PREFIX}`)) {
      const user = await this.personalTokens.authenticate(header.slice('Bearer '.length).trim());
      // The route the router found, not the text sent: /api/users/me/%74okens reaches the token list.
      assertTokenMayCall(req.method, routedPath(req), user.scope ?? 'read');
      req.user = user;
      return true;
    }
    return (await super.canActivate(ctx)) as boolean;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err || !user) throw new DomainError('unauthorized', 401, 'Missing, invalid or expired access token');
    return user;
  }
}

/** The matched route's pattern; without one (no route: a 404 follows), the decoded path. */
function routedPath(req: GuardedRequest): string {
  if (req.routeOptions?.url) return req.routeOptions.url;
  const path = req.url.split('?')[0] ?? '';
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
