import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DatabaseUrlProvider, PgNotifyListener } from '@torgovo/core';
import { DataSource } from 'typeorm';
import { INGEST_CHANNEL } from './ingest-yield';

/** Channel of the `orders_notify_pending` trigger (migration 1763900000800). */
export const ORDERS_CHANNEL = 'torgovo_orders';

/**
 * Wakes the TradingManager when pending orders are inserted (its poll still claims them without it),
 * and brings the api processes' intake-backlog signals (INGEST_CHANNEL, IngestYield) on the same connection.
 */
@Injectable()
export class OrderNotifyListener extends PgNotifyListener {
  constructor(urls: DatabaseUrlProvider, @InjectDataSource() ds: DataSource) {
    super(urls, ds, { channel: ORDERS_CHANNEL, alsoChannels: [INGEST_CHANNEL], name: 'torgovo-orders-listener', label: 'Order notifications' });
  }
}
