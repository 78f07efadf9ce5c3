import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
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

  /**
   * Cancels an unfinished order: one not sent yet ends `canceled` (reason user_canceled) at once;
   * one sent or open is canceled on the exchange by the worker with the keys it was sent with
   * (`cancel_requested_at` is set; its status then follows the exchange, a fill that won the race
   * stays filled). A final order is 409 order_final.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiErrors({ 404: ['not_found'], 409: ['order_final'] })
  async cancel(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser): Promise<OrderResponse> {
    return toOrderResponse(await this.orders.cancel(user.id, id));
  }
}
