import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, AuthUser, CurrentUser, PageQuery, ReqMeta, RequestMeta } from '@torgovo/core';
import { CreatedPersonalTokenResponse, CreatePersonalTokenDto, PersonalTokenPage, toPersonalTokenResponse } from './dto/personal-token.dto';
import { PersonalTokensService } from './personal-tokens.service';

/** Personal access tokens are managed only with a login session (the guard refuses tokens here). */
@ApiTags('users')
@ApiBearerAuth()
@Controller('users/me/tokens')
export class PersonalTokensController {
  constructor(private readonly tokens: PersonalTokensService) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedPersonalTokenResponse })
  @ApiErrors({ 403: ['api_access_not_included'] })
  async create(@CurrentUser() user: AuthUser, @Body() dto: CreatePersonalTokenDto, @ReqMeta() meta: RequestMeta): Promise<CreatedPersonalTokenResponse> {
    const { token, row } = await this.tokens.create(user.id, dto, meta, user.session_id);
    return { ...toPersonalTokenResponse(row), token };
  }

  @Get()
  @ApiOkResponse({ type: PersonalTokenPage })
  async list(@CurrentUser() user: AuthUser, @Query() q: PageQuery): Promise<PersonalTokenPage> {
    const result = await this.tokens.list(user.id, q);
    return { ...result, items: result.items.map(toPersonalTokenResponse) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiErrors({ 404: ['not_found'] })
  async revoke(@CurrentUser() user: AuthUser, @Param('id', ParseUUIDPipe) id: string, @ReqMeta() meta: RequestMeta): Promise<void> {
    await this.tokens.revoke(user.id, id, meta);
  }
}
