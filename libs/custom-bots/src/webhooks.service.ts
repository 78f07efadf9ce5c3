import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryFailedError } from 'typeorm';
import { AppConfig, page, Page, PageQuery } from '@torgovo/core';
import { OrdersService } from '@torgovo/trading';
import { lockLiveSession } from '@torgovo/users';
import { BotsService } from './bots.service';
import { GenerateWebhookDto, toWebhookSecretResponse, WebhookSecretResponse } from './dto/webhook.dto';
import { BotWebhook } from './entities/bot-webhook.entity';
import { WebhookEvent } from './entities/webhook-event.entity';
import { WebhookErrors } from './errors';
import { newWebhookSecret } from './webhook-secret';

function isUniqueViolation(err: unknown): boolean {
  return err instanceof QueryFailedError && (err.driverError as { code?: string } | undefined)?.code === '23505';
}

@Injectable()
export class WebhooksService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly bots: BotsService,
    private readonly config: AppConfig,
    private readonly orders: OrdersService,
  ) {}

  /** `sessionId`: the caller's login session, checked again at the write (lockLiveSession): a secret is a lasting credential. */
  async generate(userId: string, dto: GenerateWebhookDto, sessionId?: string): Promise<WebhookSecretResponse> {
    const bot = await this.bots.find(this.ds.manager, userId, dto.bot_id);
    await this.bots.assertMayRun(this.ds.manager, userId, bot);
    if (await this.ds.getRepository(BotWebhook).exists({ where: { bot_id: bot.id, is_active: true } })) throw WebhookErrors.alreadyExists();
    const { secret, hash } = newWebhookSecret();
    try {
      const saved = await this.ds.transaction(async (m) => {
        await lockLiveSession(m, sessionId);
        const repo = m.getRepository(BotWebhook);
        return repo.save(
          repo.create({
            user_id: userId,
            bot_id: bot.id,
            secret_hash: hash,
            is_active: true,
            max_lag_seconds: dto.max_lag_seconds ?? 300,
            rate_limit_per_minute: dto.rate_limit_per_minute ?? 60,
            rotated_at: null,
            deactivated_at: null,
          }),
        );
      });
      return toWebhookSecretResponse(saved, secret, this.config.publicUrl);
    } catch (err) {
      // The partial unique index (one active webhook per bot) is the guarantee, also under races.
      if (isUniqueViolation(err)) throw WebhookErrors.alreadyExists();
      throw err;
    }
  }

  list(userId: string, q: PageQuery): Promise<Page<BotWebhook>> {
    return this.ds
      .getRepository(BotWebhook)
      .findAndCount({ where: { user_id: userId }, order: { created_at: 'DESC', id: 'DESC' }, skip: q.offset, take: q.limit })
      .then(([items, total]) => page(items, total, q));
  }

  /** The new secret works and the old one stops in the same statement. */
  async rotate(userId: string, id: string, sessionId?: string): Promise<WebhookSecretResponse> {
    const { secret, hash } = newWebhookSecret();
    const rows = await this.ds.transaction(async (m) => {
      await lockLiveSession(m, sessionId);
      return (await m.query(
        `UPDATE bot_webhooks w SET secret_hash = $3, rotated_at = now()
           FROM bots b
          WHERE w.id = $1 AND w.user_id = $2 AND w.is_active AND b.id = w.bot_id AND b.deleted_at IS NULL
          RETURNING w.id`,
        [id, userId, hash],
      )) as [Array<{ id: string }>, number];
    });
    if (rows[0].length === 0) throw WebhookErrors.notFound();
    const saved = await this.ds.getRepository(BotWebhook).findOneByOrFail({ id });
    return toWebhookSecretResponse(saved, secret, this.config.publicUrl);
  }

  async deactivate(userId: string, id: string): Promise<void> {
    const webhook = await this.find(userId, id);
    if (!webhook.is_active) return;
    await this.ds.getRepository(BotWebhook).update({ id, is_active: true }, { is_active: false, deactivated_at: new Date() });
  }

  /** The log page, and what became of its orders (the executor may cancel one after the 202: the page says why). */
  async events(userId: string, id: string, q: PageQuery): Promise<{ events: Page<WebhookEvent>; orders: Map<string, { status: string; reason: string | null }> }> {
    await this.find(userId, id);
    const [items, total] = await this.ds.getRepository(WebhookEvent).findAndCount({
      where: { webhook_id: id },
      order: { received_at: 'DESC', id: 'DESC' },
      skip: q.offset,
      take: q.limit,
    });
    const orders = await this.orders.outcomesFor(userId, items.flatMap((e) => (e.order_id ? [e.order_id] : [])));
    return { events: page(items, total, q), orders };
  }

  private async find(userId: string, id: string): Promise<BotWebhook> {
    const webhook = await this.ds.getRepository(BotWebhook).findOne({ where: { id, user_id: userId } });
    if (!webhook) throw WebhookErrors.notFound();
    return webhook;
  }
}
