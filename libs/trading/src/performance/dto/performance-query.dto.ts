import { IsIn, IsOptional } from 'class-validator';
import type { OrderMode } from '../../orders/entities/order.entity';

/** `?mode=paper|live`: which fills to count (paper and live are never summed together). */
export class PerformanceModeQuery {
  /** Default: a bot's current mode; for the account, live when it has a live fill, else paper. */
  @IsOptional() @IsIn(['paper', 'live'])
  mode?: OrderMode;
}
