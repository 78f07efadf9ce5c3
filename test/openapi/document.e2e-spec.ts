import type { OperationObject, ReferenceObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { previewOpenApiDocument } from '../../apps/api/src/openapi-preview';
import { createTestApp, TestApp } from '../support/app';
import { OpenApiMismatch, OpenApiResponseChecker } from '../support/openapi-check';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

describe('OpenAPI document (/docs-json)', () => {
  let t: TestApp;
  const ops: Array<{ id: string; method: string; path: string; op: OperationObject }> = [];

  beforeAll(async () => {
    t = await createTestApp();
    for (const [path, item] of Object.entries(t.openapi.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (op) ops.push({ id: `${method.toUpperCase()} ${path}`, method, path, op });
      }
    }
  });
  afterAll(() => t.close());

  it('is what /docs-json serves', async () => {
    const res = await fetch(`${t.url}/docs-json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(t.openapi)));
  });

  it('is the same document that `npm run client` dumps without a server (preview mode)', async () => {
    expect(JSON.parse(JSON.stringify(await previewOpenApiDocument()))).toEqual(JSON.parse(JSON.stringify(t.openapi)));
  });

  it('gives every operation a success response with a schema (or 204), and errors in the one error shape', () => {
    const problems: string[] = [];
    for (const { id, op } of ops) {
      const statuses = Object.keys(op.responses);
      const success = statuses.filter((s) => s.startsWith('2'));
      if (success.length === 0) problems.push(`${id}: no 2xx response`);
      for (const s of success) {
        const r = op.responses[s] as ResponseObject;
        const schema = r.content?.['application/json']?.schema as SchemaObject & ReferenceObject | undefined;
        if (s !== '204' && !schema) problems.push(`${id}: ${s} has no schema`);
        const resolved = schema?.$ref ? (t.openapi.components!.schemas as Record<string, SchemaObject>)[schema.$ref.split('/').pop()!] : schema;
        if (resolved && resolved.type === 'object' && !resolved.properties && resolved.additionalProperties === undefined) problems.push(`${id}: ${s} is a bare object`);
      }
      for (const s of statuses.filter((x) => Number(x) >= 400)) {
        const schema = (op.responses[s] as ResponseObject).content?.['application/json']?.schema as SchemaObject | undefined;
        const code = schema?.properties?.code as SchemaObject | undefined;
        if (!code?.enum?.length || !schema?.required?.includes('request_id')) problems.push(`${id}: ${s} is not the error shape with code values`);
      }
      if (!op.responses['500']) problems.push(`${id}: no 500`);
    }
    expect(problems).toEqual([]);
  });

  it('describes every field of every schema (no bare nested objects an interface type would leave)', () => {
    const bare: string[] = [];
    const visit = (where: string, schema: SchemaObject | undefined) => {
      if (!schema) return;
      if (schema.type === 'object' && !schema.properties && schema.additionalProperties === undefined && !schema.allOf && !schema.oneOf) bare.push(where);
      for (const [name, p] of Object.entries(schema.properties ?? {})) visit(`${where}.${name}`, p as SchemaObject);
      if (schema.items) visit(`${where}[]`, schema.items as SchemaObject);
    };
    for (const [name, schema] of Object.entries(t.openapi.components!.schemas as Record<string, SchemaObject>)) visit(name, schema);
    expect(bare).toEqual([]);
  });

  it('marks security: bearer unless public, admin-only operations with x-admin-only and 403', () => {
    const byId = Object.fromEntries(ops.map((o) => [o.id, o.op as OperationObject & Record<string, unknown>]));
    expect(byId['GET /api/bots'].security).toEqual([{ bearer: [] }]);
    expect(byId['GET /api/subscription-plans'].security).toEqual([]);
    expect(byId['POST /api/custom-bot/webhook/receive/{secret}'].security).toEqual([]);
    for (const id of ['POST /api/subscription-plans', 'PATCH /api/subscription-plans/{id}', 'DELETE /api/subscription-plans/{id}']) {
      expect(byId[id]['x-admin-only']).toBe(true);
      expect(byId[id].description).toMatch(/Admin only/);
      expect(byId[id].responses['403']).toBeDefined();
    }
    expect(byId['GET /api/bots']['x-admin-only']).toBeUndefined();
    for (const { op } of ops) expect(Object.keys(op).filter((k) => k === 'x-errors' || k === 'x-public')).toEqual([]);
  });

  it('types nullable numbers and strings as such, with enums and query parameters', () => {
    const schemas = t.openapi.components!.schemas as Record<string, SchemaObject>;
    const plan = schemas.PlanResponse.properties as Record<string, SchemaObject>;
    for (const f of ['max_bots', 'max_trading_pairs']) expect(plan[f]).toMatchObject({ type: 'number', nullable: true });
    for (const f of ['guaranteed_monthly_return', 'profit_share_percentage', 'stripe_monthly_price_id', 'stripe_yearly_price_id']) {
      expect(plan[f]).toMatchObject({ type: 'string', nullable: true });
    }
    expect(plan.plan_type.enum).toEqual(['custom_bot', 'managed_bot']);
    const orders = ops.find((o) => o.id === 'GET /api/orders')!.op;
    const query = (orders.parameters as Array<{ name: string; in: string; schema?: SchemaObject }>).filter((p) => p.in === 'query');
    expect(query.map((p) => p.name).sort()).toEqual(['bot_id', 'limit', 'page', 'status', 'symbol']);
    expect(query.find((p) => p.name === 'status')!.schema!.enum).toContain('filled');
    const plans = ops.find((o) => o.id === 'GET /api/subscription-plans')!.op;
    expect((plans.parameters as Array<{ name: string }>).map((p) => p.name).sort()).toEqual(['limit', 'page', 'plan_type']);
  });

  it('documents the receive body as JSON and text/plain, and the Stripe webhook with its signature header', () => {
    const receive = ops.find((o) => o.id === 'POST /api/custom-bot/webhook/receive/{secret}')!.op;
    const content = (receive.requestBody as { content: Record<string, { schema: ReferenceObject }> }).content;
    expect(Object.keys(content).sort()).toEqual(['application/json', 'text/plain']);
    expect(content['text/plain'].schema.$ref).toBe('#/components/schemas/TradingViewAlertDto');
    expect(Object.keys(receive.responses)).toEqual(expect.arrayContaining(['200', '202', '401', '404', '422', '429']));
    const stripe = ops.find((o) => o.id === 'POST /api/payments/webhook')!.op;
    expect(stripe.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'stripe-signature', in: 'header', required: true })]));
    expect((stripe.responses['400'] as ResponseObject).description).toContain('invalid_signature');
  });

  describe('the response check', () => {
    let checker: OpenApiResponseChecker;
    beforeAll(() => {
      checker = new OpenApiResponseChecker(t.openapi);
    });
    const json = 'application/json; charset=utf-8';
    const error = (status: number, code: string) => JSON.stringify({ statusCode: status, error: 'x', code, message: 'm', details: [], request_id: 'r' });

    it('accepts a documented error and a real response, and refuses a body where JSON is documented', async () => {
      expect(() => checker.check('GET', '/api/bots/8a1e5a4e-0000-4000-8000-000000000000', 404, error(404, 'not_found'), json)).not.toThrow();
      const u = await t.register();
      const me = await fetch(`${t.url}/api/users/me`, { headers: { authorization: `Bearer ${u.access_token}` } });
      expect(() => checker.check('GET', '/api/users/me', me.status, '', json)).toThrow(OpenApiMismatch);
      expect((await t.request('GET', '/api/users/me', { token: u.access_token })).status).toBe(200);
    });

    it('fails on an undocumented status, naming the operation and what to add', () => {
      expect(() => checker.check('GET', '/api/bots/x', 418, error(418, 'teapot'), json)).toThrow(/GET \/api\/bots\/\{id\}.*418[\s\S]*@ApiErrors\(\{ 418: \['teapot'\] \}\)/);
    });

    it('fails on an undocumented error code', () => {
      expect(() => checker.check('POST', '/api/bots', 403, error(403, 'new_reason'), json)).toThrow(/"new_reason" is not one of/);
    });

    it('fails on a field the document does not have, and on a missing or mistyped one', () => {
      const plan = {
        id: 'p', code: 'free', plan_type: 'custom_bot', name: 'Free', monthly_price: '0.00', yearly_price: '0.00', description: '', features: [],
        max_bots: 1, max_trading_pairs: null, live_trading: false, api_access: false, trial_days: 0, guaranteed_monthly_return: null, profit_share_percentage: null,
        stripe_monthly_price_id: null, stripe_yearly_price_id: null, is_active: true,
      };
      const page = (items: unknown[]) => JSON.stringify({ items, total: items.length, page: 1, limit: 50 });
      expect(() => checker.check('GET', '/api/subscription-plans?page=1', 200, page([plan]), json)).not.toThrow();
      expect(() => checker.check('GET', '/api/subscription-plans', 200, page([{ ...plan, secret_hash: 'x' }]), json)).toThrow(/\/items\/0: field "secret_hash" is not in the schema/);
      const { name: _name, ...noName } = plan;
      expect(() => checker.check('GET', '/api/subscription-plans', 200, page([noName]), json)).toThrow(/missing required field "name"/);
      expect(() => checker.check('GET', '/api/subscription-plans', 200, page([{ ...plan, max_bots: {} }]), json)).toThrow(/\/items\/0\/max_bots/);
    });

    it('fails on an answer the document describes as a bare object (an interface or generic return type)', () => {
      const doc = JSON.parse(JSON.stringify(t.openapi)) as typeof t.openapi;
      (doc.paths['/api/bots'].get!.responses['200'] as ResponseObject).content!['application/json'].schema = { type: 'object' };
      expect(() => new OpenApiResponseChecker(doc).check('GET', '/api/bots', 200, '{"anything":1}', json)).toThrow(/bare object[\s\S]*response DTO class/);
    });

    it('leaves routes the document does not have alone', () => {
      expect(() => checker.check('GET', '/api/no-such-route', 404, error(404, 'not_found'), json)).not.toThrow();
      expect(() => checker.check('OPTIONS', '/api/bots', 204, '', undefined)).not.toThrow();
    });
  });
});
