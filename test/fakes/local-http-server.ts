import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A fake's HTTP server on 127.0.0.1 and a free port: start, base URL, stop (cutting open connections). */
export class LocalHttpServer {
  private server?: Server;

  constructor(private readonly name: string) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error(`${this.name} is not started`);
    return `http://127.0.0.1:${address.port}`;
  }

  async start(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<void> {
    this.server = createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }
}
