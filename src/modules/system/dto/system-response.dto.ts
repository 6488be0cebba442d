import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

import { AuthPrincipal } from 'src/common/auth/auth-principal';
import { AppConfig } from 'src/config/app-config';

export class SessionLivenessDto {
  @ApiProperty() id: string;
  /** True while the session's bound runner is connected. */
  @ApiProperty() runner_online: boolean;
  /** Null when the session has no host. */
  @ApiProperty({ type: Boolean, nullable: true }) host_online: boolean | null;
  @ApiProperty({ type: String, nullable: true }) host_version: string | null;
}

export class HealthResponseDto {
  @ApiProperty({ example: 'ok' }) status: 'ok';
  @ApiPropertyOptional({ type: SessionLivenessDto }) session?: SessionLivenessDto;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/SessionLivenessDto' },
  })
  sessions?: Record<string, Omit<SessionLivenessDto, 'id'>>;
}

export class VersionResponseDto {
  @ApiProperty({ example: '0.1.0' }) version: string;
}

export class MeResponseDto {
  @ApiProperty({ example: 'alice' }) user_id: string;
  @ApiProperty() is_admin: boolean;
}

class BrandingLogosDto {
  @ApiProperty({ type: String, nullable: true }) main: string | null;
  @ApiProperty({ type: String, nullable: true }) loading: string | null;
  @ApiProperty({ type: String, nullable: true }) favicon: string | null;
}

class BrandingDto {
  @ApiProperty({ type: String, nullable: true }) app_name: string | null;
  @ApiProperty({ type: String, nullable: true }) heading: string | null;
  @ApiProperty({ type: BrandingLogosDto }) logos: BrandingLogosDto;
  @ApiProperty() powered_by: boolean;
}

class SmartRoutingSourcesDto {
  @ApiProperty() external: boolean;
  @ApiProperty() oss: boolean;
}

/** upstream's ServerInfoResponse; features we don't have report false / empty. */
export class ServerInfoResponseDto {
  @ApiProperty() accounts_enabled: boolean;
  @ApiProperty({ description: 'True when the server runs without authentication (local mode).' })
  single_user: boolean;
  @ApiProperty({ type: String, nullable: true }) login_url: string | null;
  @ApiProperty() needs_setup: boolean;
  @ApiProperty() databricks_features: boolean;
  @ApiProperty() managed_sandboxes_enabled: boolean;
  @ApiProperty({ type: String, nullable: true }) sandbox_provider: string | null;
  @ApiProperty({ type: [String] }) sandbox_providers: string[];
  @ApiProperty({ enum: ['on', 'read_only', 'restricted_read_only', 'off'] })
  sharing_mode: 'on' | 'read_only' | 'restricted_read_only' | 'off';
  @ApiProperty() public_sharing_enabled: boolean;
  @ApiProperty() server_version: string;
  @ApiProperty() smart_routing_enabled: boolean;
  @ApiProperty({ type: SmartRoutingSourcesDto }) smart_routing_sources: SmartRoutingSourcesDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'boolean' } })
  features: Record<string, boolean>;
  @ApiProperty() harness_install_enabled: boolean;
  @ApiProperty({ type: [String] }) installable_harnesses: string[];
  @ApiProperty() dictation_available: boolean;
  @ApiProperty({ type: BrandingDto }) branding: BrandingDto;
}

export function toMeResponse(principal: AuthPrincipal): MeResponseDto {
  return { user_id: principal.userId, is_admin: principal.isAdmin };
}

export function toServerInfo(config: {
  auth: Pick<AppConfig['auth'], 'mode'>;
  version: string;
}): ServerInfoResponseDto {
  return {
    accounts_enabled: false,
    single_user: config.auth.mode === 'none',
    login_url: null,
    needs_setup: false,
    databricks_features: false,
    managed_sandboxes_enabled: false,
    sandbox_provider: null,
    sandbox_providers: [],
    sharing_mode: 'off',
    public_sharing_enabled: false,
    server_version: config.version,
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
}
