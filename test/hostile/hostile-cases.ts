import { createHmac } from 'node:crypto';
import type { OpenAPIObject } from '@nestjs/swagger';

/** One hostile request and what it must get: a 4xx in `status` (any 4xx when unset). */
export interface HostileCase {
  name: string;
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  raw?: string;
  status?: number[];
}

export interface Principals {
  /** A user with a running paper bot, a webhook, an order: the attacker. */
  user: { id: string; token: string };
  /** The victim's ids, by path-parameter kind. */
  victim: { bot_id: string; order_id: string; webhook_id: string; subscription_id: string; payment_id: string; token_id: string };
  admin: { token: string };
  jwtSecret: string;
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const hs256 = (secret: string, head: object, payload: object) => {
  const signing = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(payload))}`;
  return `${signing}.${createHmac('sha256', secret).update(signing).digest('base64url')}`;
};

/** Tokens that must all be refused (401) wherever a token is needed. */
export function forgedTokens(p: Principals): Array<[string, string]> {
  const [, payload] = p.admin.token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const [userHead, userPayload, userSig] = p.user.token.split('.');
  const userClaims = JSON.parse(Buffer.from(userPayload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  return [
    ['garbage', 'not-a-jwt'],
    ['alg:none with admin claims', `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`],
    ['tampered payload (role user → admin, signature kept)', `${userHead}.${b64url(JSON.stringify({ ...userClaims, role: 'admin' }))}.${userSig}`],
    ['expired (right secret)', hs256(p.jwtSecret, { alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 7200, exp: now - 3600 })],
    ['signed with another secret', hs256('another-secret-0123456789abcdefghijklmnopqrstuvwxyz', { alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now, exp: now + 900 })],
  ];
}

type Op = { method: string; path: string; secured: boolean; hasJsonBody: boolean; pathParams: string[] };

/** Every operation of the served document (the contract of every endpoint). */
export function operations(doc: OpenAPIObject): Op[] {
  const ops: Op[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = (item as Record<string, unknown>)[method] as
        | { security?: unknown[]; requestBody?: { content?: Record<string, unknown> }; parameters?: Array<{ in: string; name: string }> }
        | undefined;
      if (!op) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        secured: (op.security?.length ?? 0) > 0,
        hasJsonBody: op.requestBody?.content?.['application/json'] !== undefined,
        pathParams: (op.parameters ?? []).filter((x) => x.in === 'path').map((x) => x.name),
      });
    }
  }
  return ops;
}

/** A path with each parameter filled: the victim's id of that kind when there is one, else `fill`. */
export function fillPath(path: string, fill: (name: string) => string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(fill(name)));
}

export function victimIdFor(p: Principals, path: string): string {
  if (path.includes('/bots/') || path.startsWith('/api/bots')) return p.victim.bot_id;
  if (path.includes('/orders')) return p.victim.order_id;
  if (path.includes('/webhooks')) return p.victim.webhook_id;
  if (path.includes('/subscriptions/')) return p.victim.subscription_id;
  if (path.includes('/crypto/status')) return p.victim.payment_id;
  if (path.includes('/tokens/')) return p.victim.token_id;
  return '6f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f';
}

/** Generated from the document: forged tokens on every secured operation; bad bodies and bad ids on every operation that takes them. */
export function generatedCases(doc: OpenAPIObject, p: Principals): HostileCase[] {
  const cases: HostileCase[] = [];
  const forged = forgedTokens(p);
  for (const op of operations(doc)) {
    const isAdmin = op.path.startsWith('/api/admin') || /subscription-plans|managed-bots/.test(op.path);
    const path = fillPath(op.path, () => victimIdFor(p, op.path));
    if (op.secured) {
      for (const [name, token] of forged) cases.push({ name: `${op.method} ${op.path}: ${name} token`, method: op.method, path, token, status: [401] });
    }
    const token = op.secured ? (isAdmin ? p.admin.token : p.user.token) : undefined;
    if (op.hasJsonBody && !op.path.includes('/webhook/receive/')) {
      const json = { 'content-type': 'application/json' };
      const bodies: Array<[string, string]> = [
        ['malformed JSON', '{"a": 1,,}'],
        ['a JSON array', '[1,2,3]'],
        ['a JSON string', '"hello"'],
        ['deeply nested', `{"x":${'['.repeat(5000)}${']'.repeat(5000)}}`],
      ];
      for (const [name, raw] of bodies) cases.push({ name: `${op.method} ${op.path}: ${name}`, method: op.method, path, token, raw, headers: json });
    }
    if (op.secured && !isAdmin && op.pathParams.length > 0 && victimIdFor(p, op.path) !== victimIdFor(p, '/none')) {
      cases.push({
        name: `${op.method} ${op.path}: another user's id`,
        method: op.method,
        path,
        token,
        raw: op.hasJsonBody ? '{}' : undefined,
        headers: op.hasJsonBody ? { 'content-type': 'application/json' } : undefined,
        status: op.hasJsonBody ? [400, 404] : [404],
      });
    }
    for (const param of op.pathParams) {
      if (op.path.includes('/webhook/receive/')) continue;
      cases.push({ name: `${op.method} ${op.path}: ${param} not a uuid`, method: op.method, path: fillPath(op.path, (n) => (n === param ? 'not-a-uuid' : victimIdFor(p, op.path))), token, raw: op.hasJsonBody ? '{}' : undefined, headers: op.hasJsonBody ? { 'content-type': 'application/json' } : undefined });
      cases.push({ name: `${op.method} ${op.path}: ${param} 5000 characters`, method: op.method, path: fillPath(op.path, (n) => (n === param ? 'a'.repeat(5000) : victimIdFor(p, op.path))), token, status: [414, 400] });
    }
  }
  return cases;
}
