/**
 * The OKX call process (OkxSidecar starts it with child_process.fork): runs the OKX calls its parent
 * sends over the IPC channel and answers each with OKX's response or the error, by the same id.
 * Imports only ccxt's loader and the call types, never the app: it holds no database connection,
 * no configuration and no secret but the keys of the calls in flight (they arrive over the channel,
 * never in argv or the environment, and are gone with the call's instance).
 *
 * Each call gets its own ccxt instance: these calls are rare (a key check, a follower's balance, a
 * deposit address), so the shared-instance pool of the worker's hot path (OkxClientPool) is not worth
 * its discipline here, and no instance ever holds two accounts' keys.
 * It exits when the channel closes: its parent ended it, or the parent is gone.
 */
import { invokeOkx, newOkxInstance } from './ccxt-okx';
import { isOkxMethod, OkxTarget, toWireError } from './okx-calls';
import type { ExchangeCredentials } from './credential-tester';

export interface SidecarRequest {
  id: number;
  target: OkxTarget;
  credentials: ExchangeCredentials | null;
  method: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
}

export type SidecarReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: ReturnType<typeof toWireError> };

async function run(request: SidecarRequest): Promise<unknown> {
  if (!isOkxMethod(request.method)) throw new Error(`not an OKX method the call process runs: ${String(request.method)}`);
  const client = newOkxInstance(request.target);
  if (request.credentials) {
    client.apiKey = request.credentials.apiKey;
    client.secret = request.credentials.secret;
    client.password = request.credentials.passphrase ?? '';
  }
  if (request.headers) client.headers = { ...client.headers, ...request.headers };
  return invokeOkx(client, { method: request.method, params: request.params });
}

function reply(message: SidecarReply): void {
  if (process.connected) process.send!(message);
}

if (!process.send) {
  console.error('okx-sidecar: start me with child_process.fork (an IPC channel is needed)');
  process.exit(2);
}

process.on('message', (message: SidecarRequest) => {
  run(message).then(
    (result) => reply({ id: message.id, ok: true, result }),
    (error: unknown) => reply({ id: message.id, ok: false, error: toWireError(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
// Ready: the parent sends nothing before this (the first call then waits for ccxt's load, not for the process's start alone).
try {
  newOkxInstance();
  process.send({ ready: true });
} catch (error) {
  process.send({ ready: false, error: toWireError(error) });
}
