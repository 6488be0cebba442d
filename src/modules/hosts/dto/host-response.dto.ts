import { ApiProperty } from '@nestjs/swagger';

import { HostEntity } from 'src/modules/hosts/host.entity';
import type { FsEntry, WorktreeEntry } from 'src/protocol/host-protocol';

/** Upstream's Host object (spec/api-reference.md §6). */
export class HostResponseDto {
  @ApiProperty({ example: 'host_0194f1c2e3a4b5c6d7e8f90123456789' }) host_id: string;
  @ApiProperty() name: string;
  @ApiProperty({ description: 'The user id of the owner.' }) owner: string;
  @ApiProperty({ enum: ['online', 'offline'] }) status: 'online' | 'offline';
  @ApiProperty({ type: String, nullable: true, description: 'Always null (no managed sandboxes).' })
  sandbox_provider: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'boolean' }, { type: 'string' }] },
    nullable: true,
    description: 'Harness → true when usable on the host, else false or the reason.',
  })
  configured_harnesses: Record<string, boolean | string> | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'boolean' }, nullable: true })
  gateway_inference: Record<string, boolean> | null;
}

export class HostDetailResponseDto extends HostResponseDto {
  @ApiProperty({ type: [String], description: 'Always empty (as upstream).' }) runners: string[];
}

export class HostListResponseDto {
  @ApiProperty({ type: [HostResponseDto] }) hosts: HostResponseDto[];
}

export class HostFsEntryDto implements FsEntry {
  @ApiProperty() name: string;
  @ApiProperty({ description: 'Absolute path on the host.' }) path: string;
  @ApiProperty({ enum: ['directory', 'file', 'other'] }) type: FsEntry['type'];
  @ApiProperty({ type: Number, nullable: true }) bytes: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Unix seconds.' })
  modified_at: number | null;
}

export class HostFsListResponseDto {
  @ApiProperty({ example: 'list' }) object: 'list';
  @ApiProperty({ type: [HostFsEntryDto] }) data: HostFsEntryDto[];
  @ApiProperty() has_more: boolean;
}

export class DirectoryCreatedResponseDto {
  @ApiProperty({ example: 'directory' }) object: 'directory';
  @ApiProperty({ description: 'The absolute path created.' }) path: string;
}

export class WorktreeDto implements WorktreeEntry {
  @ApiProperty() path: string;
  @ApiProperty({ type: String, nullable: true }) branch: string | null;
  @ApiProperty() is_main: boolean;
  @ApiProperty() detached: boolean;
}

export class WorktreeListResponseDto {
  @ApiProperty({ example: 'list' }) object: 'list';
  @ApiProperty({ type: [WorktreeDto] }) data: WorktreeDto[];
}

export class LaunchRunnerResponseDto {
  @ApiProperty({ example: 'runner_token_0123456789abcdef0123456789abcdef' }) runner_id: string;
  @ApiProperty({ example: 'launching' }) status: 'launching';
}

export function toHostResponse(host: HostEntity, online: boolean): HostResponseDto {
  return {
    host_id: host.hostId,
    name: host.name,
    owner: host.ownerId,
    status: online ? 'online' : 'offline',
    sandbox_provider: null,
    configured_harnesses: host.capabilities?.harnesses ?? null,
    gateway_inference: null,
  };
}
