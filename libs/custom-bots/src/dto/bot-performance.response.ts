import { PerformanceFiguresResponse, PositionResponse } from '@torgovo/trading';

/** API.md GET /bots/{id}/performance. */
export class BotPerformanceResponse extends PerformanceFiguresResponse {
  bot_id: string;
  /** The bot's position on its current symbol. */
  position: PositionResponse;
  /** Every symbol the bot has traded in this mode (a bot's symbol may change while it is stopped), flat ones included. */
  positions: PositionResponse[];
  /** Σ unrealised PnL of `positions`. */
  unrealised_pnl: string;
}
