/** One currency of the user's paper account (API.md GET /paper/balances). */
export class PaperBalanceResponse {
  currency: string;
  /** Available for new orders. */
  free: string;
  /** Held by resting limit orders until they fill or are cancelled. */
  reserved: string;
}
