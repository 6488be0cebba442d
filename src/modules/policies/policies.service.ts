import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId } from 'src/common/ids/ids';
import { CreatePolicyDto, UpdatePolicyDto } from 'src/modules/policies/dto/policy-request.dto';
import {
  DefaultPolicyListResponseDto,
  DefaultPolicyResponseDto,
  PolicyDeletedResponseDto,
  SessionPolicyListResponseDto,
  SessionPolicyResponseDto,
  toDefaultPolicy,
  toSessionPolicy,
} from 'src/modules/policies/dto/policy-response.dto';
import { PoliciesRepository, PolicyScope } from 'src/modules/policies/policies.repository';
import { PolicyCacheService } from 'src/modules/policies/policy-cache.service';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import {
  HANDLER_PATTERN,
  PolicyParamsError,
  PolicyRegistryService,
} from 'src/modules/policies/policy-registry.service';
import { SessionAccessService, SessionLevel } from 'src/modules/sessions/session-access.service';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { RunnerLinkService } from 'src/modules/sessions/turns/runner-link.service';

/** Runners told of a server-wide change at a time. */
const PUSH_BATCH = 16;

/**
 * Stored policies (spec/policies.md §6.2–§6.3): a session's (read to list, edit to change) and
 * the server-wide defaults (admins change them; the route guard enforces that). Handlers must
 * be in the registry and params must fit its schema, on create and on PATCH alike.
 */
@Injectable()
export class PoliciesService {
  constructor(
    private readonly access: SessionAccessService,
    private readonly cache: PolicyCacheService,
    private readonly policies: PoliciesRepository,
    private readonly registry: PolicyRegistryService,
    private readonly runnerLink: RunnerLinkService,
  ) {}

  async listSession(auth: AuthPrincipal, sessionId: string): Promise<SessionPolicyListResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    const rows = await this.policies.list({ scope: 'session', sessionId: session.id });
    return { object: 'list', data: rows.map(toSessionPolicy) };
  }

  async createSession(
    auth: AuthPrincipal,
    sessionId: string,
    dto: CreatePolicyDto,
  ): Promise<SessionPolicyResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const row = await this.insert({ scope: 'session', sessionId: session.id }, dto, null);
    await this.sessionChanged(session);
    return toSessionPolicy(row);
  }

  async getSession(
    auth: AuthPrincipal,
    sessionId: string,
    policyId: string,
  ): Promise<SessionPolicyResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Read);
    return toSessionPolicy(
      await this.findOrFail({ scope: 'session', sessionId: session.id }, policyId),
    );
  }

  async updateSession(
    auth: AuthPrincipal,
    sessionId: string,
    policyId: string,
    dto: UpdatePolicyDto,
  ): Promise<SessionPolicyResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    const row = await this.update({ scope: 'session', sessionId: session.id }, policyId, dto);
    await this.sessionChanged(session);
    return toSessionPolicy(row);
  }

  async deleteSession(
    auth: AuthPrincipal,
    sessionId: string,
    policyId: string,
  ): Promise<PolicyDeletedResponseDto> {
    const session = await this.access.require(auth, sessionId, SessionLevel.Edit);
    await this.policies.delete({ scope: 'session', sessionId: session.id }, policyId);
    await this.sessionChanged(session);
    return { deleted: true };
  }

  async listDefaults(_auth: AuthPrincipal): Promise<DefaultPolicyListResponseDto> {
    const rows = await this.policies.list({ scope: 'default' });
    return { object: 'list', data: rows.map(toDefaultPolicy) };
  }

  async createDefault(
    auth: AuthPrincipal,
    dto: CreatePolicyDto,
  ): Promise<DefaultPolicyResponseDto> {
    const row = await this.insert({ scope: 'default' }, dto, auth.userId);
    await this.defaultsChanged();
    return toDefaultPolicy(row);
  }

  async getDefault(_auth: AuthPrincipal, policyId: string): Promise<DefaultPolicyResponseDto> {
    return toDefaultPolicy(await this.findOrFail({ scope: 'default' }, policyId));
  }

  async updateDefault(
    _auth: AuthPrincipal,
    policyId: string,
    dto: UpdatePolicyDto,
  ): Promise<DefaultPolicyResponseDto> {
    const row = await this.update({ scope: 'default' }, policyId, dto);
    await this.defaultsChanged();
    return toDefaultPolicy(row);
  }

  async deleteDefault(_auth: AuthPrincipal, policyId: string): Promise<PolicyDeletedResponseDto> {
    await this.policies.delete({ scope: 'default' }, policyId);
    await this.defaultsChanged();
    return { deleted: true };
  }

  /**
   * Every replica drops its cached copy, then the session's runner learns the new flags (before
   * the change is answered: the running turn's next tool call is authorised under it).
   */
  private async sessionChanged(session: SessionEntity): Promise<void> {
    this.cache.changed({ scope: 'session', sessionId: session.id });
    await this.runnerLink.policiesChanged(session);
    // A root session's policies apply to its sub-agent sessions too.
    await this.pushFlags(await this.policies.sessionsRunningTurns(session.id));
  }

  /** A server-wide change: cached copies dropped, and every turn running now is told. */
  private async defaultsChanged(): Promise<void> {
    this.cache.changed({ scope: 'default' });
    await this.pushFlags(await this.policies.sessionsRunningTurns());
  }

  private async pushFlags(sessions: SessionEntity[]): Promise<void> {
    for (let i = 0; i < sessions.length; i += PUSH_BATCH) {
      await Promise.all(
        sessions.slice(i, i + PUSH_BATCH).map((s) => this.runnerLink.policiesChanged(s)),
      );
    }
  }

  private async insert(
    scope: PolicyScope,
    dto: CreatePolicyDto,
    createdBy: string | null,
  ): Promise<PolicyEntity> {
    if (dto.type === 'url') {
      throw new DomainError(
        ErrorCode.InvalidInput,
        'URL policy evaluation is a future extension: only type python (registry handlers) is supported',
      );
    }
    const params = this.checkedParams(dto.handler, dto.factory_params);
    const row = await this.policies.insert({
      id: newId(IdPrefix.Policy),
      scope: scope.scope,
      sessionId: scope.scope === 'session' ? scope.sessionId : null,
      name: dto.name,
      type: 'python',
      handler: dto.handler,
      factoryParams: params,
      enabled: true,
      createdBy,
    });
    if (!row) {
      throw new DomainError(ErrorCode.Conflict, `A policy named '${dto.name}' already exists`);
    }
    return row;
  }

  private async update(
    scope: PolicyScope,
    policyId: string,
    dto: UpdatePolicyDto,
  ): Promise<PolicyEntity> {
    const existing = await this.findOrFail(scope, policyId);
    if (dto.handler !== undefined) {
      if (!HANDLER_PATTERN.test(dto.handler)) {
        throw new DomainError(ErrorCode.InvalidInput, 'handler must be a dotted handler path');
      }
      // The stored params must fit the new handler too (upstream did not check: spec §6.6).
      this.checkedParams(dto.handler, existing.factoryParams);
    }
    const row = await this.policies.update(scope, existing.id, {
      ...(dto.name !== undefined ? { name: dto.name } : {}),
      ...(dto.handler !== undefined ? { handler: dto.handler } : {}),
      ...(dto.enabled !== undefined ? { enabled: dto.enabled } : {}),
    });
    if (row === null) {
      throw new DomainError(ErrorCode.Conflict, `A policy named '${dto.name}' already exists`);
    }
    if (!row) {
      throw new DomainError(ErrorCode.NotFound, 'Policy not found');
    }
    return row;
  }

  /** The params as given (null when none), after the registry checked handler and params. */
  private checkedParams(
    handler: string,
    params: Record<string, unknown> | null | undefined,
  ): Record<string, unknown> | null {
    if (!this.registry.has(handler)) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `Handler '${handler}' is not in the policy registry (GET /v1/policy-registry lists them)`,
      );
    }
    try {
      this.registry.validateParams(handler, params);
    } catch (error) {
      if (error instanceof PolicyParamsError) {
        throw new DomainError(ErrorCode.InvalidInput, error.message);
      }
      throw error;
    }
    return params ?? null;
  }

  private async findOrFail(scope: PolicyScope, policyId: string): Promise<PolicyEntity> {
    const row = await this.policies.getById(scope, policyId);
    if (!row) {
      throw new DomainError(ErrorCode.NotFound, 'Policy not found');
    }
    return row;
  }
}
