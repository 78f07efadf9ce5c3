import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser, ReqMeta, RequestMeta, Roles } from '@torgovo/core';
import type { AccessActor } from '@torgovo/users';
import { AdminUserDetail, AdminUserPage, AdminUsersQuery, UpdateAdminUserDto } from './dto/admin-user.dto';
import { AdminUsersService } from './admin-users.service';

const actor = (user: AuthUser, meta: RequestMeta): AccessActor => ({ actorId: user.id, source: 'admin', ip: meta.ip, user_agent: meta.user_agent });

@ApiTags('admin')
@ApiBearerAuth()
@Roles('admin')
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: AdminUsersService) {}

  @Get()
  @ApiOkResponse({ type: AdminUserPage })
  list(@Query() q: AdminUsersQuery): Promise<AdminUserPage> {
    return this.users.list(q);
  }

  @Get(':id')
  @ApiOkResponse({ type: AdminUserDetail })
  detail(@Param('id', ParseUUIDPipe) id: string): Promise<AdminUserDetail> {
    return this.users.detail(id);
  }

  @Patch(':id')
  @ApiOkResponse({ type: AdminUserDetail })
  update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateAdminUserDto, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<AdminUserDetail> {
    return this.users.update(id, dto, actor(user, meta));
  }

  @Delete(':id')
  @HttpCode(204)
  async erase(@Param('id', ParseUUIDPipe) id: string, @CurrentUser() user: AuthUser, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.users.erase(id, actor(user, meta));
  }
}
