import { EXAMPLE_IDS, EXAMPLE_TIME } from 'src/common/openapi/examples';
import type {
  DirectoryCreatedResponseDto,
  HostDetailResponseDto,
  HostFsListResponseDto,
  HostResponseDto,
  LaunchRunnerResponseDto,
  WorktreeListResponseDto,
} from 'src/modules/hosts/dto/host-response.dto';

/** The documented request and response examples of the hosts routes. */
const HOST: HostResponseDto = {
  host_id: EXAMPLE_IDS.host,
  name: 'alice-laptop',
  owner: 'local',
  status: 'online',
  sandbox_provider: null,
  configured_harnesses: { echo: true, openai: true },
  gateway_inference: null,
};

export const HOST_LIST_EXAMPLE = { hosts: [HOST] };

export const HOST_DETAIL_EXAMPLE: HostDetailResponseDto = { ...HOST, runners: [] };

export const HOST_FS_LIST_EXAMPLE: HostFsListResponseDto = {
  object: 'list',
  data: [
    {
      name: 'projects',
      path: '/home/alice/projects',
      type: 'directory',
      bytes: null,
      modified_at: EXAMPLE_TIME,
    },
  ],
  has_more: false,
};

export const CREATE_DIRECTORY_EXAMPLE = { path: '~/projects/new' };

export const DIRECTORY_CREATED_EXAMPLE: DirectoryCreatedResponseDto = {
  object: 'directory',
  path: '/home/alice/projects/new',
};

export const WORKTREE_LIST_EXAMPLE: WorktreeListResponseDto = {
  object: 'list',
  data: [
    { path: '/home/alice/projects/app', branch: 'main', is_main: true, detached: false },
    {
      path: '/home/alice/projects/app-feature',
      branch: 'feature',
      is_main: false,
      detached: false,
    },
  ],
};

export const LAUNCH_RUNNER_EXAMPLE = {
  session_id: EXAMPLE_IDS.session,
  workspace: '/home/alice/projects/app',
};

export const LAUNCH_RUNNER_RESPONSE_EXAMPLE: LaunchRunnerResponseDto = {
  runner_id: 'runner_token_0194f1c2e3a4b5c6d7e8f90123456789',
  status: 'launching',
};
