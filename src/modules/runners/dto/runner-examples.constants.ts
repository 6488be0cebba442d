import { EXAMPLE_IDS, EXAMPLE_TIME } from 'src/common/openapi/examples';
import type {
  RunnerListResponseDto,
  RunnerStatusResponseDto,
  RunnerTokenResponseDto,
} from 'src/modules/runners/dto/runner-response.dto';

/** The documented response examples of the runners routes. */
export const RUNNER_LIST_EXAMPLE: RunnerListResponseDto = {
  data: [{ runner_id: EXAMPLE_IDS.runner, online: true, harnesses: ['echo', 'openai'] }],
};

export const RUNNER_STATUS_EXAMPLE: RunnerStatusResponseDto = {
  runner_id: EXAMPLE_IDS.runner,
  online: true,
};

export const RUNNER_TOKEN_EXAMPLE: RunnerTokenResponseDto = {
  token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJydW5uZXIifQ.c2lnbmF0dXJl',
  expires_at: EXAMPLE_TIME + 1800,
};
