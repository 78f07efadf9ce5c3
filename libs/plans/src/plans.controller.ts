import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, Page, Public, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
import { AdminListPlansQuery, CreatePlanDto, ListPlansQuery, UpdatePlanDto } from './dto/plan.dto';
import { PlanResponse, toPlanResponse } from './dto/plan-response';
import { AdminContext, PlansService } from './plans.service';

const admin = (user: AuthUser, meta: RequestMeta): AdminContext => ({ actorId: user.id, ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('subscription-plans')
@Controller('subscription-plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Public()
  @Get()
  async list(@Query() q: ListPlansQuery): Promise<Page<PlanResponse>> {
    const result = await this.plans.listActive(q);
    return { ...result, items: result.items.map(toPlanResponse) };
  }

  /** The admin's list: deactivated plans too (the public list shows only active ones). */
  @ApiBearerAuth()
  @Roles('admin')
  @Get('admin')
  async listAll(@Query() q: AdminListPlansQuery): Promise<Page<PlanResponse>> {
    const result = await this.plans.listAll(q);
    return { ...result, items: result.items.map(toPlanResponse) };
  }

  @ApiBearerAuth()
  @Roles('admin')
  @Post()
  async create(@Body() dto: CreatePlanDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.create(dto, admin(user, meta)));
  }

  @ApiBearerAuth()
  @Roles('admin')
  @Patch(':id')
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdatePlanDto,
    @CurrentUser() user: AuthUser,
    @ReqMeta() meta: RequestMeta,
  ): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.update(id, dto, admin(user, meta)));
  }

  @ApiBearerAuth()
  @Roles('admin')
  @Delete(':id')
  async deactivate(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<PlanResponse> {
    return toPlanResponse(await this.plans.deactivate(id, admin(user, meta)));
  }
}
