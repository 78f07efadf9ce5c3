import { PickType } from '@nestjs/swagger';
import { CreateSubscriptionDto } from '@torgovo/subscriptions';

/** Same rules as POST /subscriptions; the payment method is implied (card). */
export class CreateCheckoutDto extends PickType(CreateSubscriptionDto, ['plan_id', 'billing_cycle'] as const) {}

export interface CheckoutResponse {
  checkout_url: string;
  session_id: string;
  payment_id: string;
  subscription_id: string;
}

export interface PortalResponse {
  url: string;
}

export interface WebhookResponse {
  received: true;
}
