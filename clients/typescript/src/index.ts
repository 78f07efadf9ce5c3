// The typed client for the Torgovo REST API: openapi-fetch over the types openapi-typescript
// generates from the OpenAPI document (`npm run client` writes ../generated/, never committed).
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from '../generated/schema';

export type { components, paths };
/** Every response and request schema by name: `Schemas['BotResponse']`. */
export type Schemas = components['schemas'];
export type TorgovoClient = Client<paths>;

export interface TorgovoClientOptions {
  /** Origin of the API, e.g. "http://localhost:3000" (paths in the document start with /api). */
  baseUrl: string;
  /** Read before each request: return the current access token, or undefined when signed out. */
  accessToken?: () => string | undefined;
  fetch?: typeof globalThis.fetch;
}

export function createTorgovoClient(options: TorgovoClientOptions): TorgovoClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  if (options.accessToken) {
    const token = options.accessToken;
    const auth: Middleware = {
      onRequest({ request }) {
        const value = token();
        if (value && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${value}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}
