import { Injectable, Logger } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '@torgovo/core';
import { PaymentErrors } from '../errors';

/** Webhook signatures older than this are rejected (Stripe's default, stated so it cannot drift). */
export const STRIPE_SIGNATURE_TOLERANCE_SECONDS = 300;

/** Stripe refused the request for the object's state or existence (400/404 invalid_request_error), not an outage. */
export const isInvalidRequest = (err: unknown): err is Stripe.errors.StripeInvalidRequestError => err instanceof Stripe.errors.StripeInvalidRequestError;

/**
 * The one Stripe client of the process, built from configuration only. Every payment
 * endpoint goes through `client`, which is 503 payments_not_configured without the keys.
 */
@Injectable()
export class StripeGateway {
  private readonly logger = new Logger(StripeGateway.name);
  private instance?: Stripe;

  constructor(private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.config.stripeEnabled;
  }

  /** 503 payments_not_configured before any work when Stripe is off. */
  assertEnabled(): void {
    if (!this.enabled) throw PaymentErrors.notConfigured();
  }

  get client(): Stripe {
    if (!this.enabled) throw PaymentErrors.notConfigured();
    this.instance ??= this.build();
    return this.instance;
  }

  get webhookSecret(): string {
    if (!this.enabled) throw PaymentErrors.notConfigured();
    return this.config.env.STRIPE_WEBHOOK_SECRET as string;
  }

  /**
   * Runs a Stripe call; a Stripe failure becomes a 502 whose message names no key (Stripe's
   * own message can quote a masked key). Business errors the caller expects (`expected`) are
   * rethrown to it as Stripe's own error.
   */
  async call<T>(what: string, fn: (stripe: Stripe) => Promise<T>, expected?: (err: Stripe.errors.StripeError) => boolean): Promise<T> {
    const stripe = this.client;
    try {
      return await fn(stripe);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeError) {
        if (expected?.(err)) throw err;
        this.logger.error({ what, type: err.type, code: err.code ?? null, status: err.statusCode ?? null, request_id: err.requestId ?? null }, 'Stripe call failed');
        throw PaymentErrors.provider();
      }
      throw err;
    }
  }

  private build(): Stripe {
    const key = this.config.env.STRIPE_SECRET_KEY as string;
    const base = this.config.env.STRIPE_API_URL;
    if (!base) return new Stripe(key, { maxNetworkRetries: 2 });
    const url = new URL(base);
    const protocol = url.protocol === 'http:' ? 'http' : 'https';
    return new Stripe(key, {
      host: url.hostname,
      port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
      protocol,
      // A local fake or proxy: retries would only hide its failures in tests.
      maxNetworkRetries: 0,
    });
  }
}
