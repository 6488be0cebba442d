import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiNotModifiedResponse,
  ApiOkResponse,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { Auth, Authenticated } from 'src/common/auth/auth.decorators';
import { ApiErrors } from 'src/common/openapi/api-errors.decorator';
import { ApiTag } from 'src/common/openapi/api-tag.enum';
import { BodyExample } from 'src/common/openapi/body-example.decorator';
import { Endpoint } from 'src/common/openapi/endpoint.decorator';
import { ListEnvelope } from 'src/common/pagination/pagination';
import { FileIdPipe, SessionIdPipe } from 'src/common/validation/id-param.pipe';
import {
  CopyFilesDto,
  ListFilesQueryDto,
  UploadFileDto,
} from 'src/modules/files/dto/file-request.dto';
import {
  COPY_FILES_EXAMPLE,
  FILE_DELETED_EXAMPLE,
  FILE_EXAMPLE,
  FILE_LIST_EXAMPLE,
  FILES_COPIED_EXAMPLE,
} from 'src/modules/files/dto/file-examples.constants';
import {
  CopiedFileDto,
  FileDeletedResponseDto,
  FileListResponseDto,
  FileResourceDto,
  FilesCopiedResponseDto,
} from 'src/modules/files/dto/file-response.dto';
import { FileUploadInterceptor } from 'src/modules/files/file-upload.interceptor';
import { FilesService, StoredUpload } from 'src/modules/files/files.service';

/** Session files (spec/api-reference.md §8.2). */
@ApiTags(ApiTag.Resources)
@ApiExtraModels(CopiedFileDto)
@Controller('v1/sessions/:session_id/resources')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Get('files')
  @Authenticated()
  @Endpoint({ summary: 'List files', description: "The session's files, newest first." })
  @ApiOkResponse({ type: FileListResponseDto, example: FILE_LIST_EXAMPLE })
  @ApiErrors(404, 422)
  list(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Query() query: ListFilesQueryDto,
  ): Promise<ListEnvelope<FileResourceDto>> {
    return this.files.list(auth, sessionId, query);
  }

  @Post('files')
  @Authenticated()
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadFileDto })
  @Endpoint({
    summary: 'Upload a file',
    description:
      'Multipart, part `file`. Images up to 5 MiB, PDF up to 20 MiB, text, code and JSON up to 10 MiB ' +
      '(configurable); other types 415, larger files 413. Publishes `session.resource.created`.',
  })
  @ApiCreatedResponse({ type: FileResourceDto, example: FILE_EXAMPLE })
  @ApiErrors(400, 403, 404, 413, 415, 422)
  @UseInterceptors(FileUploadInterceptor)
  upload(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Req() req: { file?: StoredUpload },
  ): Promise<FileResourceDto> {
    return this.files.create(auth, sessionId, req.file);
  }

  @Post('files\\:copy')
  @HttpCode(200)
  @Authenticated()
  @Endpoint({
    summary: 'Copy files from an ancestor session',
    description:
      'Copies files of a strict ancestor (parent chain) into this session: all of them or none.',
  })
  @BodyExample(CopyFilesDto, COPY_FILES_EXAMPLE)
  @ApiOkResponse({ type: FilesCopiedResponseDto, example: FILES_COPIED_EXAMPLE })
  @ApiErrors(400, 403, 404, 413, 422)
  copy(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Body() dto: CopyFilesDto,
  ): Promise<FilesCopiedResponseDto> {
    return this.files.copy(auth, sessionId, dto);
  }

  @Get('files/:file_id')
  @Authenticated()
  @Endpoint({ summary: 'Get a file', description: "A file's resource object." })
  @ApiOkResponse({ type: FileResourceDto, example: FILE_EXAMPLE })
  @ApiErrors(404)
  get(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('file_id', FileIdPipe) fileId: string,
  ): Promise<FileResourceDto> {
    return this.files.get(auth, sessionId, fileId);
  }

  @Get('files/:file_id/content')
  @Authenticated()
  @ApiProduces('application/octet-stream')
  @Endpoint({
    summary: "Download a file's bytes",
    description:
      'As an attachment, typed from the filename, `nosniff`, `ETag: "<file id>"`; 304 when ' +
      '`If-None-Match` matches.',
  })
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiNotModifiedResponse({ description: 'The client has these bytes already.' })
  @ApiErrors(404)
  content(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('file_id', FileIdPipe) fileId: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
  ): Promise<Response> {
    return this.files.content(auth, sessionId, fileId, ifNoneMatch);
  }

  @Delete('files/:file_id')
  @Authenticated()
  @Endpoint({ summary: 'Delete a file', description: 'Publishes `session.resource.deleted`.' })
  @ApiOkResponse({ type: FileDeletedResponseDto, example: FILE_DELETED_EXAMPLE })
  @ApiErrors(403, 404)
  delete(
    @Auth() auth: AuthPrincipal,
    @Param('session_id', SessionIdPipe) sessionId: string,
    @Param('file_id', FileIdPipe) fileId: string,
  ): Promise<FileDeletedResponseDto> {
    return this.files.delete(auth, sessionId, fileId);
  }
}
