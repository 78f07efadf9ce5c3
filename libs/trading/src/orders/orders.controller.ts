import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser } from '@torgovo/core';
import { ListOrdersQuery } from './dto/list-orders.query';
import { OrderPage, OrderResponse, toOrderResponse } from './dto/order-response';
import { OrdersService } from './orders.service';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** The user's orders, newest first. */
  @Get()
  async list(@Query() q: ListOrdersQuery, @CurrentUser() user: AuthUser): Promise<OrderPage> {
    const result = await this.orders.list(user.id, q);
    return { ...result, items: result.items.map(toOrderResponse) };
  }

  /** One order; another user's order is 404. */
  @Get(':id')
  @ApiErrors({ 404: ['not_found'] })
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<OrderResponse> {
    return toOrderResponse(await this.orders.getForUser(user.id, id));
  }
}
