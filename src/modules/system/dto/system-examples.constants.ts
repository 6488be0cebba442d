import { EXAMPLE_IDS } from 'src/common/openapi/examples';
import {
  type HealthResponseDto,
  type MeResponseDto,
  toServerInfo,
} from 'src/modules/system/dto/system-response.dto';

/** The documented response examples of the system routes. */
export const HEALTH_EXAMPLE: HealthResponseDto = {
  status: 'ok',
  session: {
    id: EXAMPLE_IDS.session,
    runner_online: true,
    host_online: null,
    host_version: null,
  },
};

export const READY_EXAMPLE = { status: 'ok' as const, details: { database: { status: 'up' } } };

export const VERSION_EXAMPLE = { version: '0.1.0' };

export const ME_EXAMPLE: MeResponseDto = { user_id: 'local', is_admin: true };

export const SERVER_INFO_EXAMPLE = toServerInfo({ auth: { mode: 'none' }, version: '0.1.0' });
