import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '@torgovo/core';
import { clientOrderIdSql, PENDING_ORDER_COLUMNS } from '@torgovo/trading';
import { lockActingAdmin } from '@torgovo/users';
import { ManagedSignalDto, SignalAcceptedResponse } from './dto/signal.dto';
import { AdminActor, auditedBy } from './admin-actor';
import { ManagedBot } from './entities/managed-bot.entity';
import { ManagedBotErrors } from './errors';
import { signalRefSql } from './follow-order-refs';
import { lockSignalContent, ManagedSignalConfig, signalIdentity } from './signal-repeat';
import { normalizeSymbol } from './symbols';
import { lockWebhookIssuer } from './webhook-issuer';

/** The columns the fan-out writes (PENDING_ORDER_COLUMNS, from trading); the others take their defaults. */
const WRITTEN = ['user_id', 'managed_bot_id', 'source', 'source_ref', 'mode', 'exchange', 'symbol', 'side', 'type', 'quote_amount', 'position_percent', 'signal_at', 'price', 'client_order_id'] as const;
for (const c of WRITTEN) if (!(PENDING_ORDER_COLUMNS as readonly string[]).includes(c)) throw new Error(`orders has no pending column ${c}`);

/**
 * One signal → one statement: the signal row (unique per managed bot and signal_id, so a repeated
 * signal_id inserts nothing and, joined on its RETURNING, creates no order; nor is an id-less signal
 * whose content was accepted within the window, see signal-repeat.ts) and one pending order per active
 * follower, sized from the follower's own investment (buy: investment × fraction in quote) or
 * position (sell: fraction of it, close: all, sized by the executor's placement rule when placed),
 * each with its deterministic client order id. Paper followers need the lead's price to fill at.
 * The TradingManager executes them like any other order: one follower's failing exchange is that
 * follower's order's outcome and holds up no one else (each user has their own queue).
 * It answers the bot's status as it saw it: a bot paused between the service's check and this
 * statement is a 409 managed_bot_paused (nothing written), not a "duplicate".
 */
const FANOUT = `
  WITH p AS (
    SELECT $1::uuid AS bot_id, $2::text AS signal_id, $3::text AS source, $4::text AS action, $5::text AS symbol,
           $6::numeric AS fraction, $7::numeric AS price, $8::text AS content_key, $9::int AS window_seconds
  ), repeat_of AS (
    -- An id-less signal (content_key set) whose content was accepted within the window is that signal again. Read
    -- under the caller's advisory lock on (bot, content_key), taken before this statement: an identical signal
    -- written concurrently has committed by then, and this statement's snapshot (taken after the lock) sees it.
    SELECT s.signal_id FROM p JOIN managed_bot_signals s ON s.managed_bot_id = p.bot_id AND s.content_key = p.content_key
     WHERE s.created_at > now() - make_interval(secs => p.window_seconds)
     ORDER BY s.created_at DESC LIMIT 1
  ), eligible AS (
    -- Paper followers fill at the lead's price: without one they are not copied (the service refuses such a signal up front).
    SELECT f.id, f.user_id, f.managed_bot_id, f.mode, f.exchange,
           CASE WHEN p.action = 'buy' THEN trunc(f.investment * p.fraction, 8) END AS quote_amount
      FROM p JOIN managed_bot_follows f ON f.managed_bot_id = p.bot_id AND f.status = 'active'
     WHERE (p.price IS NOT NULL OR f.mode = 'live') AND (p.action <> 'buy' OR trunc(f.investment * p.fraction, 8) > 0)
  ), sig AS (
    INSERT INTO managed_bot_signals (managed_bot_id, signal_id, content_key, source, action, symbol, fraction, price, orders_created)
    SELECT b.id, p.signal_id, p.content_key, p.source, p.action, p.symbol, p.fraction, p.price, (SELECT count(*) FROM eligible)
      FROM p JOIN managed_bots b ON b.id = p.bot_id AND b.status = 'active'
     WHERE NOT EXISTS (SELECT 1 FROM repeat_of)
    ON CONFLICT (managed_bot_id, signal_id) DO NOTHING
    RETURNING id, created_at
  ), ins AS (
    INSERT INTO orders (${WRITTEN.join(', ')})
    SELECT e.user_id, e.managed_bot_id, 'managed', ${signalRefSql('sig.id', 'e.id')}, e.mode, e.exchange, p.symbol,
           CASE WHEN p.action = 'buy' THEN 'buy' ELSE 'sell' END, 'market', e.quote_amount,
           CASE WHEN p.action = 'sell' THEN p.fraction * 100 WHEN p.action = 'close' THEN 100 END,
           sig.created_at, p.price,
           ${clientOrderIdSql(`'managed'`, signalRefSql('sig.id', 'e.id'))}
      FROM sig CROSS JOIN p CROSS JOIN eligible e
    ON CONFLICT DO NOTHING
    RETURNING 1
  )
  -- Always one row: the bot's status in this statement's snapshot (the one the signal insert joined on),
  -- so "nothing inserted" tells a pause committed after the service's check from a repeated signal.
  -- signal_id: the stored one — this signal's, or for a repeat the first's.
  SELECT b.status AS bot_status, sig.id, (SELECT count(*)::int FROM ins) AS orders_created,
         CASE WHEN sig.id IS NULL THEN coalesce((SELECT signal_id FROM repeat_of), p.signal_id) ELSE p.signal_id END AS signal_id
    FROM p LEFT JOIN managed_bots b ON b.id = p.bot_id LEFT JOIN sig ON true`;

/**
 * A signal and who sends it: an admin through the API (audited with IP and user agent; none only for
 * the bench), or the bot's own webhook, named by its secret's hash (the secret's issuer is checked
 * at the fan-out).
 */
export type SignalInput = ManagedSignalDto & ({ source: 'api'; admin?: AdminActor } | { source: 'webhook'; webhookSecretHash: string });

@Injectable()
export class SignalFanoutService {
  private readonly logger = new Logger(SignalFanoutService.name);

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly audit: AuditService,
    private readonly config: ManagedSignalConfig,
  ) {}

  async accept(managedBotId: string, input: SignalInput): Promise<SignalAcceptedResponse> {
    const bot = await this.ds.getRepository(ManagedBot).findOne({ where: { id: managedBotId } });
    if (!bot) throw ManagedBotErrors.notFound();
    if (bot.status !== 'active') throw ManagedBotErrors.pausedSignal();
    const symbol = normalizeSymbol(input.symbol);
    if (!symbol || !bot.symbols.includes(symbol)) throw ManagedBotErrors.symbolNotTraded(input.symbol);
    const price = input.price ?? null;
    if (price === null && (await this.hasPaperFollowers(bot.id))) throw ManagedBotErrors.priceRequired();
    // With a signal_id, that id is the signal's identity forever; without one, its content within the window (signal-repeat.ts).
    const { signalId, contentKey } = signalIdentity(input.signal_id, input.action, symbol, input.fraction, price);

    type FanoutRow = { bot_status: 'active' | 'paused' | null; id: string | null; orders_created: number; signal_id: string };
    const fanout = async (m: EntityManager): Promise<SignalAcceptedResponse> => {
      // The window's read and the insert are one step only under this lock (same transaction, before the statement).
      if (contentKey !== null) await lockSignalContent(m, bot.id, contentKey);
      const params = [bot.id, signalId, input.source, input.action, symbol, input.fraction, price, contentKey, this.config.MANAGED_SIGNAL_DEDUPE_WINDOW_SECONDS];
      const [row] = (await m.query(FANOUT, params)) as FanoutRow[];
      if (row.bot_status === null) throw ManagedBotErrors.notFound();
      // Paused after the check above: the statement's join found it paused and wrote nothing.
      if (row.id === null && row.bot_status !== 'active') throw ManagedBotErrors.pausedSignal();
      return row.id === null ? { signal_id: row.signal_id, orders_created: 0, duplicate: true } : { signal_id: row.signal_id, orders_created: row.orders_created, duplicate: false };
    };
    let result: SignalAcceptedResponse;
    if (input.source === 'webhook') {
      const hash = input.webhookSecretHash;
      result = await this.ds.transaction(async (m) => {
        // The secret trades on its issuer's authority: still an active admin as the orders are written
        // (their row share-locked until this commits), and still this bot's secret. Otherwise the same
        // 404 as an unknown secret, nothing written.
        const gate = await lockWebhookIssuer(m, hash);
        if (!gate.ok || gate.managedBotId !== bot.id) {
          this.logger.warn(
            { managed_bot_id: bot.id, issued_by: gate.issuedBy, reason: gate.ok ? 'rotated' : gate.reason },
            'Managed webhook refused at the fan-out: 404 as an unknown secret',
          );
          throw ManagedBotErrors.webhookNotFound();
        }
        return fanout(m);
      });
    } else if (input.admin) {
      const admin = input.admin;
      result = await this.ds.transaction(async (m) => {
        // An admin's signal moves every follower's money: sent only by an admin who still is one as
        // the orders are written (a demotion committed after the role guard refuses it: 403), and
        // audited in the same transaction, repeats included (they create nothing).
        await lockActingAdmin(m, admin.actorId);
        const r = await fanout(m);
        await this.audit.record(
          { event_type: 'managed_bot.signal', user_id: null, ...auditedBy(admin), data: { managed_bot_id: bot.id, action: input.action, symbol, fraction: input.fraction, price, ...r } },
          m,
        );
        return r;
      });
    } else {
      // The content lock is transaction-scoped: held until the signal and its orders are committed.
      result = contentKey !== null ? await this.ds.transaction((m) => fanout(m)) : await fanout(this.ds.manager);
    }
    this.logger.log({ managed_bot_id: bot.id, ...result }, result.duplicate ? 'Repeated managed signal: nothing created' : 'Managed signal fanned out');
    return result;
  }

  private async hasPaperFollowers(managedBotId: string): Promise<boolean> {
    const rows = (await this.ds.query(`SELECT 1 FROM managed_bot_follows WHERE managed_bot_id = $1 AND status = 'active' AND mode = 'paper' LIMIT 1`, [managedBotId])) as unknown[];
    return rows.length > 0;
  }
}
