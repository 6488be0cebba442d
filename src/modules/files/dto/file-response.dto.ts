import { Readable } from 'node:stream';

import { ApiProperty } from '@nestjs/swagger';

import { ListEnvelopeDto } from 'src/common/pagination/pagination';
import { toUnixSeconds } from 'src/database/transformers';
import { attachmentDisposition, mediaTypeOfName } from 'src/modules/files/media-type.util';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';

export class FileMetadataDto {
  @ApiProperty({ description: 'The original filename.' }) filename: string;
  @ApiProperty({ type: 'integer' }) bytes: number;
  @ApiProperty({ type: 'integer', description: 'Unix seconds.' }) created_at: number;
  @ApiProperty({ description: 'The media type resolved at upload.' }) content_type: string;
}

/** A file as a session resource (upstream `SessionResourceObject`, type `file`). */
export class FileResourceDto {
  @ApiProperty({ example: 'file_0192f0c1a2b3c4d5e6f708192a3b4c5d' }) id: string;
  @ApiProperty({ enum: ['session.resource'] }) object: 'session.resource';
  @ApiProperty({ enum: ['file'] }) type: 'file';
  @ApiProperty() session_id: string;
  @ApiProperty({ description: 'The original filename.' }) name: string;
  @ApiProperty({ type: FileMetadataDto }) metadata: FileMetadataDto;
}

export class FileListResponseDto extends ListEnvelopeDto {
  @ApiProperty({ type: [FileResourceDto] }) data: FileResourceDto[];
}

export class FileDeletedResponseDto {
  @ApiProperty() id: string;
  @ApiProperty({ enum: ['session.resource.deleted'] }) object: 'session.resource.deleted';
  @ApiProperty({ enum: [true] }) deleted: true;
}

export class CopiedFileDto {
  @ApiProperty() new_id: string;
  @ApiProperty() filename: string;
  @ApiProperty({ type: String, nullable: true }) content_type: string | null;
}

export class FilesCopiedResponseDto {
  @ApiProperty({ enum: ['session.files.copied'] }) object: 'session.files.copied';
  @ApiProperty({ description: 'The destination session.' }) session_id: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/CopiedFileDto' },
    description: 'Source file id → the copy.',
  })
  mapping: Record<string, CopiedFileDto>;
}

export function toFileResource(file: SessionFileEntity): FileResourceDto {
  return {
    id: file.id,
    object: 'session.resource',
    type: 'file',
    session_id: file.sessionId,
    name: file.filename,
    metadata: {
      filename: file.filename,
      bytes: file.bytes,
      created_at: toUnixSeconds(file.createdAt),
      content_type: file.contentType,
    },
  };
}

/** True when `If-None-Match` names the file's ETag (or is `*`). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) {
    return false;
  }
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

/**
 * The answer of `GET …/files/{id}/content` (spec/api-reference.md §8.2): the bytes as an
 * attachment typed from the filename, never sniffed, cacheable for good (files never change);
 * an empty 304 when the client already has them. `stream` is null for the 304.
 */
export function toContentResponse(file: SessionFileEntity, stream: Readable | null): Response {
  const etag = `"${file.id}"`;
  const headers = new Headers({
    ETag: etag,
    'Cache-Control': 'private, max-age=31536000, immutable',
    'X-Content-Type-Options': 'nosniff',
  });
  if (!stream) {
    return new Response(null, { status: 304, headers });
  }
  headers.set('Content-Type', mediaTypeOfName(file.filename) ?? 'application/octet-stream');
  headers.set('Content-Length', String(file.bytes));
  headers.set('Content-Disposition', attachmentDisposition(file.filename));
  // Even opened in a browser tab, an uploaded HTML or SVG file runs no script.
  headers.set('Content-Security-Policy', "default-src 'none'; sandbox");
  return new Response(Readable.toWeb(stream) as ReadableStream, { status: 200, headers });
}
