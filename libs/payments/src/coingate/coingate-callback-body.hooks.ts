import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** A content type no client sends: the callback route is re-labelled with it so its body arrives as raw bytes. */
export const COINGATE_CALLBACK_CONTENT_TYPE = 'application/x-torgovo-coingate-callback';
const CALLBACK_PATH = /^\/api\/payments\/crypto\/callback(?:[?#]|$)/;

/**
 * CoinGate posts its callback as application/x-www-form-urlencoded (JSON on newer accounts);
 * the app parses only JSON. Rather than a form parser for every route, the callback route alone
 * takes its raw body and CoinGateCallbackController parses either shape.
 */
@Injectable()
export class CoinGateCallbackBodyHooks implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const instance: unknown = this.adapterHost.httpAdapter?.getInstance();
    if (!instance || typeof (instance as Partial<FastifyInstance>).addContentTypeParser !== 'function') return;
    const fastify = instance as FastifyInstance;
    fastify.addContentTypeParser(COINGATE_CALLBACK_CONTENT_TYPE, { parseAs: 'string' }, (_req, body, done) => done(null, body));
    fastify.addHook('onRequest', async (req: FastifyRequest) => {
      if (req.method === 'POST' && CALLBACK_PATH.test(req.url)) req.headers['content-type'] = COINGATE_CALLBACK_CONTENT_TYPE;
    });
  }
}

/** The callback's fields from a form or JSON body; anything else is an empty object (refused as an unknown payment). */
export function parseCallbackBody(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string' || raw.length === 0) return {};
  const text = raw.trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}
