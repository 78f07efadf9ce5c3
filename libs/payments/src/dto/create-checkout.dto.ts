import { PickType } from '@nestjs/swagger';
import { CreateSubscriptionDto } from '@torgovo/subscriptions';

/** Same rules as POST /subscriptions; the payment method is implied (card). */
export class CreateCheckoutDto extends PickType(CreateSubscriptionDto, ['plan_id', 'billing_cycle'] as const) {}

export class CheckoutResponse {
  /** Redirect the browser here (Stripe Checkout). */
  checkout_url: string;
  session_id: string;
  payment_id: string;
  subscription_id: string;
}

export class PortalResponse {
  /** Stripe Customer Portal; redirect the browser here. */
  url: string;
}

export class StripeWebhookAck {
  received: true;
}
