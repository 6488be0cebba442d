import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { HostIdPipe } from 'src/common/validation/id-param.pipe';
import { HostPath } from 'src/modules/hosts/dto/host-path.decorator';
import {
  CREATE_DIRECTORY_EXAMPLE,
  DIRECTORY_CREATED_EXAMPLE,
  HOST_DETAIL_EXAMPLE,
  HOST_FS_LIST_EXAMPLE,
  HOST_LIST_EXAMPLE,
  WORKTREE_LIST_EXAMPLE,
} from 'src/modules/hosts/dto/host-examples.constants';
import {
  CreateDirectoryDto,
  HostFilesystemQueryDto,
  WorktreesQueryDto,
} from 'src/modules/hosts/dto/host-request.dto';
import {
  DirectoryCreatedResponseDto,
  HostDetailResponseDto,
  HostFsListResponseDto,
  HostListResponseDto,
  WorktreeListResponseDto,
} from 'src/modules/hosts/dto/host-response.dto';
import { HostsService } from 'src/modules/hosts/hosts.service';

@ApiTags(ApiTag.Hosts)
@Controller('v1/hosts')
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  @Get()
  @Authenticated()
  @Endpoint({
    summary: 'List hosts',
    description: "The caller's hosts (machines running `omnigent host`), online and offline.",
  })
  @ApiOkResponse({ type: HostListResponseDto, example: HOST_LIST_EXAMPLE })
  list(@Auth() auth: AuthPrincipal): Promise<HostListResponseDto> {
    return this.hosts.list(auth);
  }

  @Get(':host_id')
  @Authenticated()
  @Endpoint({ summary: 'Get a host', description: "Another user's host is 404." })
  @ApiOkResponse({ type: HostDetailResponseDto, example: HOST_DETAIL_EXAMPLE })
  @ApiErrors(404)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
  ): Promise<HostDetailResponseDto> {
    return this.hosts.get(auth, hostId);
  }

  @Get(':host_id/filesystem')
  @Authenticated()
  @Endpoint({
    summary: 'List the host home directory',
    description:
      'Entries of `~` on the host, sorted by name, paged by entry path. 409 when the host is ' +
      'offline, 504 when it does not answer in time, 502 when the host fails.',
  })
  @ApiOkResponse({ type: HostFsListResponseDto, example: HOST_FS_LIST_EXAMPLE })
  @ApiErrors(404, 409, 422, 502, 504)
  listHome(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
    @Query() query: HostFilesystemQueryDto,
  ): Promise<HostFsListResponseDto> {
    return this.hosts.listDirectory(auth, hostId, undefined, query);
  }

  @Get(':host_id/filesystem/*path')
  @Authenticated()
  @ApiParam({
    name: 'path',
    type: String,
    description: 'An absolute path without its leading `/`, or a `~`-prefixed path.',
  })
  @Endpoint({
    summary: 'List a host directory',
    description:
      'Entries of a directory on the host (absolute or `~`-prefixed; confined to the roots the ' +
      'daemon serves: 403 outside them), sorted by name, paged by entry path.',
  })
  @ApiOkResponse({ type: HostFsListResponseDto, example: HOST_FS_LIST_EXAMPLE })
  @ApiErrors(400, 403, 404, 409, 422, 502, 504)
  listDirectory(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
    @HostPath() path: string,
    @Query() query: HostFilesystemQueryDto,
  ): Promise<HostFsListResponseDto> {
    return this.hosts.listDirectory(auth, hostId, path, query);
  }

  @Post(':host_id/directories')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Create a directory on the host',
    description: 'mkdir -p of an absolute or `~`-prefixed path; 409 when the host refuses.',
  })
  @BodyExample(CreateDirectoryDto, CREATE_DIRECTORY_EXAMPLE)
  @ApiOkResponse({ type: DirectoryCreatedResponseDto, example: DIRECTORY_CREATED_EXAMPLE })
  @ApiErrors(400, 403, 404, 409, 413, 422, 502, 504)
  createDirectory(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
    @Body() dto: CreateDirectoryDto,
  ): Promise<DirectoryCreatedResponseDto> {
    return this.hosts.createDirectory(auth, hostId, dto);
  }

  @Get(':host_id/worktrees')
  @Authenticated()
  @Endpoint({
    summary: 'List git worktrees',
    description: 'The worktrees of the git repository at `path` on the host, main first.',
  })
  @ApiOkResponse({ type: WorktreeListResponseDto, example: WORKTREE_LIST_EXAMPLE })
  @ApiErrors(400, 403, 404, 409, 422, 502, 504)
  worktrees(
    @Auth() auth: AuthPrincipal,
    @Param('host_id', HostIdPipe) hostId: string,
    @Query() query: WorktreesQueryDto,
  ): Promise<WorktreeListResponseDto> {
    return this.hosts.worktrees(auth, hostId, query);
  }
}
