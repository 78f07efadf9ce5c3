import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page } from '@torgovo/core';
import { ListOrdersQuery } from './dto/list-orders.query';
import { OrderResponse, toOrderResponse } from './dto/order-response';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@ApiBearerAuth()
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Get()
  async list(@Query() q: ListOrdersQuery, @CurrentUser() user: AuthUser): Promise<Page<OrderResponse>> {
    const result = await this.orders.list(user.id, q);
    return { ...result, items: result.items.map(toOrderResponse) };
  }

  /** A malformed id is 400 (ParseUUIDPipe, as everywhere in this API); another user's id is 404. */
  @Get(':id')
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<OrderResponse> {
    return toOrderResponse(await this.orders.getForUser(user.id, id));
  }
}
