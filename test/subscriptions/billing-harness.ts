import { randomBytes } from 'node:crypto';
import { ScheduleModule } from '@nestjs/schedule';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource, EntityManager } from 'typeorm';
import { CoreModule, DomainError } from '@torgovo/core';
import { PaymentsModule, StripeCancelOutboxWorker } from '@torgovo/payments';
import { PlansModule, SubscriptionPlan } from '@torgovo/plans';
import {
  BillingSchedulerModule,
  SubscriptionEndedEvent,
  SubscriptionEndListener,
  SubscriptionHooks,
} from '@torgovo/subscriptions';
import type { TestDatabase } from '../support/database';

/** Records every end notification, as custom-bots will receive them. */
export class RecordingEndListener implements SubscriptionEndListener {
  readonly batches: SubscriptionEndedEvent[][] = [];
  async onSubscriptionsEnded(events: SubscriptionEndedEvent[], _manager: EntityManager): Promise<void> {
    this.batches.push(events);
  }
  get events(): SubscriptionEndedEvent[] {
    return this.batches.flat();
  }
}

export interface BillingHarness {
  module: TestingModule;
  ds: DataSource;
  listener: RecordingEndListener;
  get<T>(type: new (...args: never[]) => T): T;
  close(): Promise<void>;
}

/**
 * The real libs wired as the worker wires them (CoreModule, plans, subscriptions,
 * payments, billing scheduler, the Stripe cancellation outbox job) on the given test
 * database, with timers off. Pass the Stripe variables in `env` for a worker that calls Stripe.
 * Each call builds its own DataSource: two harnesses are two workers.
 */
export async function bootBilling(db: TestDatabase, env: Record<string, string> = {}): Promise<BillingHarness> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    JWT_SECRET: 'test-jwt-secret-0123456789abcdefghijklmnop',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'silent',
    DATABASE_POOL_SIZE: '6',
    BILLING_SWEEP_INTERVAL_SECONDS: '0',
    STRIPE_CANCEL_OUTBOX_INTERVAL_SECONDS: '0',
    ...env,
  });
  let module: TestingModule;
  try {
    module = await Test.createTestingModule({
      imports: [CoreModule.forRoot({ appName: 'test' }), ScheduleModule.forRoot(), PlansModule, PaymentsModule, BillingSchedulerModule],
      providers: [StripeCancelOutboxWorker],
    }).compile();
    await module.init();
  } finally {
    process.env = saved;
  }
  const listener = new RecordingEndListener();
  module.get(SubscriptionHooks).addEndListener(listener);
  return {
    module,
    ds: module.get(DataSource),
    listener,
    get: (type) => module.get(type),
    close: () => module.close(),
  };
}

export async function createUser(ds: DataSource, label = 'u'): Promise<string> {
  const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const [row] = (await ds.query(`INSERT INTO users (email, password_hash, full_name) VALUES ($1, 'x', 'Test') RETURNING id`, [email])) as Array<{ id: string }>;
  return row.id;
}

export async function planByCode(ds: DataSource, code: string): Promise<SubscriptionPlan> {
  return ds.getRepository(SubscriptionPlan).findOneByOrFail({ code });
}

export async function auditRows(ds: DataSource, eventType: string, subscriptionId?: string): Promise<Array<{ user_id: string; data: Record<string, unknown> }>> {
  return (await ds.query(
    `SELECT user_id, data FROM audit_logs WHERE event_type = $1 AND ($2::text IS NULL OR data->>'subscription_id' = $2) ORDER BY created_at`,
    [eventType, subscriptionId ?? null],
  )) as Array<{ user_id: string; data: Record<string, unknown> }>;
}

/** code → id of every plan. */
export async function planIds(ds: DataSource): Promise<Record<string, string>> {
  const rows = (await ds.query('SELECT code, id FROM subscription_plans')) as Array<{ code: string; id: string }>;
  return Object.fromEntries(rows.map((r) => [r.code, r.id]));
}

/** The DomainError a promise rejects with; fails the test if it resolves or throws something else. */
export async function domainErrorOf(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}
