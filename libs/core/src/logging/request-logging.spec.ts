import { Writable } from 'node:stream';
import { Controller, Get, INestApplication, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { LoggerModule } from 'nestjs-pino';
import { installRequestLogging, UnloggedRoute } from './request-logging';

@Controller()
class PingController {
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }

  @Post('ping')
  pong(): { ok: true } {
    return { ok: true };
  }

  @Get('other')
  other(): { ok: true } {
    return { ok: true };
  }
}

/**
 * installRequestLogging's own checks, on a bare Nest + Fastify app with nestjs-pino as LoggingModule
 * configures it (mounted on no route): a skipped route that never comes fails the boot (a renamed
 * route would otherwise silently start logging every alert again, or a typo skip nothing); a skipped
 * route writes no request line, its other methods and other routes do.
 */
describe('installRequestLogging', () => {
  let app: INestApplication | undefined;
  let lines: string[];

  async function boot(skip: UnloggedRoute[]): Promise<NestFastifyApplication> {
    lines = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    @Module({ imports: [LoggerModule.forRoot({ forRoutes: [], pinoHttp: [{ level: 'info' }, sink] })], controllers: [PingController] })
    class TestModule {}
    const created = await NestFactory.create<NestFastifyApplication>(TestModule, new FastifyAdapter(), { logger: false });
    app = created;
    installRequestLogging(created, created.getHttpAdapter().getInstance(), { skip });
    return created;
  }

  afterEach(async () => {
    await app?.close().catch(() => undefined);
    app = undefined;
  });

  it('fails the boot when a skipped route is never registered, naming it', async () => {
    const created = await boot([{ url: '/ping' }, { method: 'POST', url: '/renamed' }]);
    await expect(created.listen(0, '127.0.0.1')).rejects.toThrow('Routes excluded from request logging were never registered: POST /renamed');
  });

  it('a skip naming a method the URL is not registered with fails the boot too', async () => {
    const created = await boot([{ method: 'DELETE', url: '/ping' }]);
    await expect(created.listen(0, '127.0.0.1')).rejects.toThrow('never registered: DELETE /ping');
  });

  it('a skipped route and method writes no request line; its other method and other routes do', async () => {
    const created = await boot([{ method: 'POST', url: '/ping' }]);
    await created.listen(0, '127.0.0.1');
    const base = await created.getUrl();
    expect((await fetch(`${base}/ping`, { method: 'POST' })).status).toBe(201);
    expect((await fetch(`${base}/ping`)).status).toBe(200);
    expect((await fetch(`${base}/other`)).status).toBe(200);
    // pino-http writes its line on the response's 'finish', which may come after the client has the answer.
    await new Promise((r) => setTimeout(r, 50));
    const completed = lines.map((l) => JSON.parse(l) as { msg?: string; req?: { method?: string; url?: string } }).filter((l) => l.msg === 'request completed');
    expect(completed.map((l) => `${l.req?.method} ${l.req?.url}`)).toEqual(['GET /ping', 'GET /other']);
  });
});
