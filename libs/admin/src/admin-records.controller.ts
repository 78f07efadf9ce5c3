import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Roles } from '@torgovo/core';
import {
  AdminOrderPage,
  AdminOrdersQuery,
  AdminPaymentPage,
  AdminPaymentsQuery,
  AdminSubscriptionPage,
  AdminSubscriptionsQuery,
  AuditLogPage,
  AuditLogsQuery,
} from './dto/admin-records.dto';
import { AdminRecordsService } from './admin-records.service';

/** Read-only lists of every user's records, newest first. */
@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin')
export class AdminRecordsController {
  constructor(private readonly records: AdminRecordsService) {}

  @Get('audit-logs')
  @ApiOkResponse({ type: AuditLogPage })
  auditLogs(@Query() q: AuditLogsQuery): Promise<AuditLogPage> {
    return this.records.auditLogs(q);
  }

  @Get('subscriptions')
  @ApiOkResponse({ type: AdminSubscriptionPage })
  subscriptions(@Query() q: AdminSubscriptionsQuery): Promise<AdminSubscriptionPage> {
    return this.records.subscriptions(q);
  }

  @Get('payments')
  @ApiOkResponse({ type: AdminPaymentPage })
  payments(@Query() q: AdminPaymentsQuery): Promise<AdminPaymentPage> {
    return this.records.payments(q);
  }

  @Get('orders')
  @ApiOkResponse({ type: AdminOrderPage })
  orders(@Query() q: AdminOrdersQuery): Promise<AdminOrderPage> {
    return this.records.orders(q);
  }
}
