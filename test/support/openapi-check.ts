import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';

/**
 * Checks every response the e2e suite receives against the OpenAPI document the app serves, so
 * the document cannot drift from the code: an undocumented status, an undocumented error `code`,
 * a missing or extra field, a wrong type or enum value fails the test that made the request.
 * Response objects are closed here (additionalProperties: false unless the schema says otherwise).
 * Requests to paths or methods the document does not have (unknown routes, CORS preflights) are
 * not checked. Validators are compiled once per operation and status, per test file.
 */
const ID = 'openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  literalChars: number;
  op: OperationObject;
}

export class OpenApiMismatch extends Error {
  override name = 'OpenApiMismatch';
}

/** OpenAPI 3.0 → JSON Schema for ajv: `nullable`, closed objects, refs into the registered document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$ref' && typeof v === 'string') out[k] = v.startsWith('#/') ? `${ID}${v}` : v;
    else if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Json).map(([name, s]) => [name, toJsonSchema(s)]));
    } else if (k !== 'nullable' && k !== 'example' && k !== 'examples') out[k] = toJsonSchema(v);
  }
  if (src.properties && out.additionalProperties === undefined && !src.allOf && !src.oneOf && !src.anyOf) out.additionalProperties = false;
  if (src.nullable !== true) return out;
  if (out.$ref || out.allOf || out.oneOf || out.anyOf || out.type === undefined) {
    const inner = { ...out };
    if (inner.allOf && inner.type === 'object') delete inner.type;
    return { anyOf: [inner, { type: 'null' }] };
  }
  out.type = [out.type as string, 'null'];
  if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  return out;
}

export class OpenApiResponseChecker {
  private readonly ajv: Ajv;
  private readonly routes: Route[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly document: OpenAPIObject) {
    this.ajv = new Ajv({ strict: false, allErrors: true, verbose: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: ID, components: toJsonSchema(document.components ?? {}) });
    for (const [template, item] of Object.entries(document.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
        this.routes.push({ method: method.toUpperCase(), template, pattern: new RegExp(`^${source}$`), literalChars: template.replace(/\{[^}]+\}/g, '').length, op });
      }
    }
    // A literal segment wins over a parameter (/subscriptions/my-subscription over /subscriptions/{id}).
    this.routes.sort((a, b) => b.literalChars - a.literalChars);
  }

  private isBareObject(schema: unknown): boolean {
    let s = schema as Json;
    const ref = s.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
      s = ((this.document.components?.schemas ?? {}) as Json)[ref.slice('#/components/schemas/'.length)] as Json;
    }
    if (!s || typeof s !== 'object') return true;
    return s.type === 'object' && !s.properties && s.additionalProperties === undefined && !s.allOf && !s.oneOf && !s.anyOf;
  }

  /** Throws OpenApiMismatch with what differs and what to change. */
  check(method: string, url: string, status: number, text: string, contentType: string | undefined): void {
    const path = decodeSafe(url.split('?')[0]);
    const route = this.routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(path));
    if (!route) return;
    const where = `${route.method} ${route.template} (${route.op.operationId ?? 'operation'}) answered ${status}`;
    const response = route.op.responses[String(status)] as ResponseObject | undefined;
    if (!response) {
      const documented = Object.keys(route.op.responses).join(', ');
      throw new OpenApiMismatch(
        `${where}, a status the OpenAPI document does not list (it lists ${documented}).\n` +
          (status >= 400
            ? `Fix: add @ApiErrors({ ${status}: ['${errorCode(text) ?? 'the_code'}'] }) to the controller method (libs/core/src/openapi/api-errors.ts); ` +
              `a status that every operation of a kind answers (framework errors, guards) belongs in completeDocument (apps/api/src/openapi-document.ts).`
            : `Fix: declare it with @ApiResponse({ status: ${status}, type: <ResponseDtoClass> }) on the controller method.`) +
          `\nBody: ${text.slice(0, 500)}`,
      );
    }
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      if (text.length > 0 && status !== 204) {
        throw new OpenApiMismatch(`${where} with a body, but the document gives this status no content schema.\nFix: make the method return a response DTO class (or @ApiResponse({ status: ${status}, type })).\nBody: ${text.slice(0, 500)}`);
      }
      return;
    }
    if (!contentType?.includes('json')) throw new OpenApiMismatch(`${where} with content-type ${contentType ?? '(none)'}, documented as application/json.`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new OpenApiMismatch(`${where} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    const key = `${route.method} ${route.template} ${status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      if (this.isBareObject(schema)) {
        throw new OpenApiMismatch(
          `${where}; the document describes this answer as a bare object (no fields), so nothing about it is checked.\n` +
            `Fix: make the controller method return a response DTO class (fields typed, mapped from the entity) declared in a file named *.dto.ts or *response.ts ` +
            `(the swagger plugin reads only those; see scripts/openapi-metadata.mjs), not an interface, a generic (Page<T>: declare class XPage extends PageResponse { items: X[] }) or an entity.`,
        );
      }
      validate = this.ajv.compile(toJsonSchema(schema) as Json);
      this.validators.set(key, validate);
    }
    if (validate(body)) return;
    const errors = (validate.errors ?? []).slice(0, 10).map((e) => `  ${describe(e)}`);
    const isError = status >= 400;
    throw new OpenApiMismatch(
      `${where}; the body does not match the OpenAPI schema:\n${errors.join('\n')}\n` +
        (isError
          ? `Fix: list the code in @ApiErrors({ ${status}: [..., '${errorCode(text) ?? 'the_code'}'] }) on the controller method (libs/core/src/openapi/api-errors.ts), or answer a documented one. ` +
            `A code that every operation of a kind answers (framework errors, guards) belongs in completeDocument (apps/api/src/openapi-document.ts).`
          : `Fix: make the response DTO class (what the method returns, mapped from the entity) describe exactly what is sent: add or type the field, or stop sending it.`) +
        `\nBody: ${text.slice(0, 800)}`,
    );
  }
}

function describe(e: ErrorObject): string {
  const at = e.instancePath || '(body)';
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: field "${String(params.additionalProperty)}" is not in the schema`;
  if (e.keyword === 'enum') return `${at}: ${JSON.stringify(getAt(e))} is not one of ${JSON.stringify(params.allowedValues)}`;
  if (e.keyword === 'required') return `${at}: missing required field "${String(params.missingProperty)}"`;
  return `${at}: ${e.message ?? e.keyword}`;
}

function getAt(e: ErrorObject): unknown {
  return (e as ErrorObject & { data?: unknown }).data;
}

function errorCode(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function decodeSafe(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

const checkers = new Map<string, OpenApiResponseChecker>();

/** One checker per distinct document per test file (the module registry is per file). */
export function responseCheckerFor(document: OpenAPIObject): OpenApiResponseChecker {
  const key = JSON.stringify(document);
  let checker = checkers.get(key);
  if (!checker) {
    checker = new OpenApiResponseChecker(document);
    checkers.set(key, checker);
  }
  return checker;
}
