import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, Public, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
import { AdminListPlansQuery, CreatePlanDto, ListPlansQuery, UpdatePlanDto } from './dto/plan.dto';
import { PlanPage, PlanResponse, toPlanResponse } from './dto/plan-response';
import { AdminContext, PlansService } from './plans.service';

const admin = (user: AuthUser, meta: RequestMeta): AdminContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('subscription-plans')
@Controller('subscription-plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** The active plans, cheapest first. */
  @Public()
  @Get()
  async list(@Query() q: ListPlansQuery): Promise<PlanPage> {
    const result = await this.plans.listActive(q);
    return { ...result, items: result.items.map(toPlanResponse) };
  }

  /** The admin's list: deactivated plans too (the public list shows only active ones). */
  @Roles('admin')
  @Get('admin')
  async listAll(@Query() q: AdminListPlansQuery): Promise<PlanPage> {
    const result = await this.plans.listAll(q);
    return { ...result, items: result.items.map(toPlanResponse) };
  }

  /** A new plan. */
  @Roles('admin')
  @Post()
  @ApiErrors({ 409: ['plan_code_taken', 'stripe_price_taken'] })
  async create(@Body() dto: CreatePlanDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.create(dto, admin(user, meta)));
  }

  /** Changes a plan (code and plan_type are fixed; null clears a nullable field). */
  @Roles('admin')
  @Patch(':id')
  @ApiErrors({ 404: ['not_found'], 409: ['stripe_price_taken'] })
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdatePlanDto,
    @CurrentUser() user: AuthUser,
    @ReqMeta() meta: RequestMeta,
  ): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.update(id, dto, admin(user, meta)));
  }

  /** Deactivates the plan (no new subscriptions); current subscribers keep it. */
  @Roles('admin')
  @Delete(':id')
  @ApiErrors({ 404: ['not_found'] })
  async deactivate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.deactivate(id, admin(user, meta)));
  }
}
