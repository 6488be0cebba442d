import { EXAMPLE_IDS } from 'src/common/openapi/examples';
import type {
  HealthResponseDto,
  MeResponseDto,
  ServerInfoResponseDto,
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

export const SERVER_INFO_EXAMPLE: ServerInfoResponseDto = {
  accounts_enabled: false,
  single_user: true,
  login_url: null,
  needs_setup: false,
  databricks_features: false,
  managed_sandboxes_enabled: false,
  sandbox_provider: null,
  sandbox_providers: [],
  sharing_mode: 'off',
  public_sharing_enabled: false,
  server_version: '0.1.0',
  smart_routing_enabled: false,
  smart_routing_sources: { external: false, oss: false },
  features: { stream_resume: true, runner_channel: true },
  harness_install_enabled: false,
  installable_harnesses: [],
  dictation_available: false,
  branding: {
    app_name: null,
    heading: null,
    logos: { main: null, loading: null, favicon: null },
    powered_by: true,
  },
};
