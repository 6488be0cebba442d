import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
  Put,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { JsonResponse } from 'src/common/openapi/json-response.decorator';
import { ListEnvelope } from 'src/common/pagination/pagination';
import { SessionIdPipe } from 'src/common/validation/id-param.pipe';
import {
  EditFileDto,
  EnvListQueryDto,
  SearchQueryDto,
  ShellDto,
  WriteFileDto,
} from 'src/modules/files/dto/environment-request.dto';
import {
  CHANGES_EXAMPLE,
  DELETE_RESULT_EXAMPLE,
  DIRECTORY_LISTING_EXAMPLE,
  EDIT_FILE_EXAMPLE,
  EDIT_RESULT_EXAMPLE,
  ENVIRONMENT_EXAMPLE,
  ENVIRONMENT_LIST_EXAMPLE,
  FILE_CONTENT_EXAMPLE,
  FILE_EXAMPLE,
  RESOURCE_LIST_EXAMPLE,
  SEARCH_RESULT_EXAMPLE,
  SHELL_EXAMPLE,
  SHELL_RESULT_EXAMPLE,
  WRITE_FILE_EXAMPLE,
  WRITE_RESULT_EXAMPLE,
} from 'src/modules/files/dto/file-examples.constants';
import { EnvironmentResource, EnvironmentsService } from 'src/modules/files/environments.service';
import { JsonOnlyInterceptor } from 'src/modules/files/json-only.interceptor';
import { ResourcesService } from 'src/modules/files/resources.service';

/** A wildcard path parameter (Express 5 gives its segments) as one workspace-relative path. */
function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join('/') : (value ?? '');
}

/**
 * Session environments (spec/api-reference.md §8.4) and the generic resource routes (§8.1).
 * Registered after FilesController (files.module.ts), so `resources/files…` wins over
 * `resources/:resource_id`.
 */
@ApiTags(ApiTag.Resources)
@Controller('v1/sessions/:session_id/resources')
export class EnvironmentsController {
  constructor(
    private readonly environments: EnvironmentsService,
    private readonly resources: ResourcesService,
  ) {}

  @Get('environments')
  @Authenticated()
  @Endpoint({ summary: 'List environments', description: "The session's primary environment." })
  @JsonResponse(ENVIRONMENT_LIST_EXAMPLE, 'List envelope of environment resources.')
  @ApiErrors(404)
  list(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
  ): Promise<ListEnvelope<EnvironmentResource>> {
    return this.environments.list(auth, sessionId);
  }

  @Get('environments/:env_id')
  @Authenticated()
  @Endpoint({
    summary: 'Get an environment',
    description: '`default`: the session workspace on its runner, with `root` and `reachable`.',
  })
  @JsonResponse(ENVIRONMENT_EXAMPLE, 'The environment resource.')
  @ApiErrors(404, 502, 503, 504)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
  ): Promise<EnvironmentResource> {
    return this.environments.get(auth, sessionId, envId);
  }

  @Get('environments/:env_id/changes')
  @Authenticated()
  @Endpoint({ summary: 'Changed files', description: '`git status` of the workspace.' })
  @JsonResponse(CHANGES_EXAMPLE, 'Changed files with their git status.')
  @ApiErrors(404, 502, 503, 504)
  changes(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
  ): Promise<Record<string, unknown>> {
    return this.environments.changes(auth, sessionId, envId);
  }

  @Get('environments/:env_id/filesystem')
  @Authenticated()
  @Endpoint({ summary: 'List the workspace root', description: 'Entries, paged by path.' })
  @JsonResponse(DIRECTORY_LISTING_EXAMPLE, 'A page of entries.')
  @ApiErrors(400, 404, 422, 502, 503, 504)
  root(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Query() query: EnvListQueryDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.browse(auth, sessionId, envId, '', query);
  }

  @Get('environments/:env_id/filesystem/*relative_path')
  @Authenticated()
  @Endpoint({
    summary: 'Read a workspace path',
    description: 'A directory listing, or a file (utf-8 or base64, up to 1 MiB, `truncated`).',
  })
  @JsonResponse(FILE_CONTENT_EXAMPLE, 'A file (shown), or a page of entries for a directory.')
  @ApiErrors(400, 404, 422, 502, 503, 504)
  read(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Param('relative_path') path: string | string[],
    @Query() query: EnvListQueryDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.browse(auth, sessionId, envId, joined(path), query);
  }

  @Put('environments/:env_id/filesystem/*relative_path')
  @Authenticated()
  @Endpoint({ summary: 'Write a workspace file', description: 'Creates parents by default.' })
  @BodyExample(WriteFileDto, WRITE_FILE_EXAMPLE)
  @JsonResponse(WRITE_RESULT_EXAMPLE, 'What was written.')
  @ApiErrors(400, 403, 404, 413, 422, 502, 503, 504)
  write(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Param('relative_path') path: string | string[],
    @Body() dto: WriteFileDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.write(auth, sessionId, envId, joined(path), dto);
  }

  @Patch('environments/:env_id/filesystem/*relative_path')
  @Authenticated()
  @Endpoint({ summary: 'Edit a workspace file', description: 'Replaces old_text with new_text.' })
  @BodyExample(EditFileDto, EDIT_FILE_EXAMPLE)
  @JsonResponse(EDIT_RESULT_EXAMPLE, 'What was replaced.')
  @ApiErrors(400, 403, 404, 413, 422, 502, 503, 504)
  edit(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Param('relative_path') path: string | string[],
    @Body() dto: EditFileDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.edit(auth, sessionId, envId, joined(path), dto);
  }

  @Delete('environments/:env_id/filesystem/*relative_path')
  @Authenticated()
  @Endpoint({ summary: 'Delete a workspace path', description: 'Folders with their contents.' })
  @JsonResponse(DELETE_RESULT_EXAMPLE, 'What was deleted.')
  @ApiErrors(400, 403, 404, 502, 503, 504)
  remove(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Param('relative_path') path: string | string[],
  ): Promise<Record<string, unknown>> {
    return this.environments.delete(auth, sessionId, envId, joined(path));
  }

  @Get('environments/:env_id/search')
  @Authenticated()
  @Endpoint({ summary: 'Search the workspace', description: 'Entries whose name contains q.' })
  @JsonResponse(SEARCH_RESULT_EXAMPLE, 'Matching entries.')
  @ApiErrors(400, 404, 422, 502, 503, 504)
  search(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Query() query: SearchQueryDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.search(auth, sessionId, envId, '', query);
  }

  @Get('environments/:env_id/search/*relative_path')
  @Authenticated()
  @Endpoint({ summary: 'Search under a path', description: 'Entries whose name contains q.' })
  @JsonResponse(SEARCH_RESULT_EXAMPLE, 'Matching entries.')
  @ApiErrors(400, 404, 422, 502, 503, 504)
  searchUnder(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Param('relative_path') path: string | string[],
    @Query() query: SearchQueryDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.search(auth, sessionId, envId, joined(path), query);
  }

  @Post('environments/:env_id/shell')
  @HttpCode(200)
  @UseInterceptors(JsonOnlyInterceptor)
  @Authenticated()
  @Endpoint({
    summary: 'Run a shell command',
    description: 'In the workspace, in the sandbox of the agent tools; JSON only (415).',
  })
  @BodyExample(ShellDto, SHELL_EXAMPLE)
  @JsonResponse(SHELL_RESULT_EXAMPLE, 'The exit code and output.')
  @ApiErrors(403, 404, 413, 415, 422, 502, 503, 504)
  shell(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('env_id') envId: string,
    @Body() dto: ShellDto,
  ): Promise<Record<string, unknown>> {
    return this.environments.shell(auth, sessionId, envId, dto);
  }

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List session resources',
    description: 'The primary environment (needs a bound, online runner) and the files.',
  })
  @JsonResponse(RESOURCE_LIST_EXAMPLE, 'List envelope of resources.')
  @ApiErrors(404)
  listResources(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Query('type') type: string | undefined,
  ): Promise<ListEnvelope<Record<string, unknown>>> {
    return this.resources.list(auth, sessionId, type);
  }

  @Get(':resource_id')
  @Authenticated()
  @Endpoint({ summary: 'Get a session resource', description: 'An environment or a file.' })
  @JsonResponse(FILE_EXAMPLE, 'The resource object.')
  @ApiErrors(404, 502, 503, 504)
  getResource(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('resource_id') resourceId: string,
  ): Promise<Record<string, unknown>> {
    return this.resources.get(auth, sessionId, resourceId);
  }
}
