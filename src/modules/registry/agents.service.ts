import { createHash } from 'node:crypto';
import { posix } from 'node:path';

import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, newId, normalizeId } from 'src/common/ids/ids';
import {
  ListEnvelope,
  listEnvelope,
  ListQueryDto,
  pageRequest,
} from 'src/common/pagination/pagination';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import {
  AgentSpec,
  AgentSpecError,
  agentSpecToJson,
  parseAgentSpec,
} from 'src/modules/registry/agent-spec';
import { AgentsRepository, NewAgent } from 'src/modules/registry/agents.repository';
import { BundleError, readBundle } from 'src/modules/registry/bundle-extractor';
import { loadBuiltinAgents } from 'src/modules/registry/builtin-agents';
import { AgentResponseDto, toAgentResponse } from 'src/modules/registry/dto/agent-response.dto';

/** Built-in ids are derived from the name, so they are the same on every server and restart. */
export function builtinAgentId(name: string): string {
  return `${IdPrefix.Agent}_${createHash('sha256').update(`builtin:${name}`).digest('hex').slice(0, 32)}`;
}

export interface PreparedBundle {
  spec: AgentSpec;
  yaml: string;
  bundle: Buffer;
}

@Injectable()
export class AgentsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Agents');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly agents: AgentsRepository,
  ) {}

  /** Registers the agents shipped in `agents/` (idempotent; ids are stable). */
  async onApplicationBootstrap(): Promise<void> {
    const builtins = loadBuiltinAgents(this.config.agents.builtinDir);
    for (const { spec, yaml } of builtins) {
      await this.agents.upsertBuiltin({
        id: builtinAgentId(spec.name),
        name: spec.name,
        description: spec.description,
        harness: spec.executor.harness,
        spec: agentSpecToJson(spec),
        yaml,
      });
    }
    this.logger.log(
      `Registered ${builtins.length} built-in agent(s): ${builtins.map((b) => b.spec.name).join(', ')}`,
    );
  }

  async list(_auth: AuthPrincipal, query: ListQueryDto): Promise<ListEnvelope<AgentResponseDto>> {
    const page = await this.agents.listCatalog(pageRequest(query));
    if (!page) {
      throw new DomainError(ErrorCode.InvalidInput, 'Unknown pagination cursor');
    }
    return listEnvelope(page.rows.map(toAgentResponse), page.hasMore, (a) => a.id);
  }

  /**
   * An agent a session may be created on: a catalog agent, or a session-scoped agent whose
   * session the caller can use (checked by the caller through `canUseSession`).
   */
  async getUsable(
    id: string,
    canUseSession: (sessionId: string) => Promise<boolean>,
  ): Promise<AgentEntity> {
    const agent = await this.agents.getById(id);
    if (!agent || (agent.ownerSessionId && !(await canUseSession(agent.ownerSessionId)))) {
      throw new DomainError(ErrorCode.NotFound, `Agent not found: '${id}'`);
    }
    return agent;
  }

  getById(id: string): Promise<AgentEntity | null> {
    return this.agents.getById(id);
  }

  /** A built-in agent by name (`/v1/responses` names its agent as `model`). */
  getByName(name: string): Promise<AgentEntity | null> {
    return this.agents.findByName(name);
  }

  /** Validates an uploaded bundle: a guarded read of the archive, then the spec in its config.yaml. */
  async prepareBundle(bundle: Buffer): Promise<PreparedBundle> {
    if (bundle.length > this.config.agents.bundleMaxBytes) {
      throw new DomainError(
        ErrorCode.PayloadTooLarge,
        `Bundle exceeds the limit of ${this.config.agents.bundleMaxBytes} bytes`,
      );
    }
    try {
      // In memory: nothing on disk to clean up, whatever happens to the process meanwhile.
      const { configYaml, files } = await readBundle(bundle);
      const spec = parseAgentSpec(configYaml, {
        readBundleFile: (rel) => files.get(posix.normalize(rel))?.toString('utf8'),
      });
      return { spec, yaml: configYaml, bundle };
    } catch (error) {
      if (error instanceof BundleError || error instanceof AgentSpecError) {
        throw new DomainError(ErrorCode.InvalidInput, `Invalid agent bundle: ${error.message}`);
      }
      throw error;
    }
  }

  /** The session-scoped agent row of an uploaded bundle, for the session `sessionId`. */
  sessionAgent(prepared: PreparedBundle, sessionId: string, ownerId: string): NewAgent {
    return {
      id: newId(IdPrefix.Agent),
      name: prepared.spec.name,
      description: prepared.spec.description,
      harness: prepared.spec.executor.harness,
      spec: agentSpecToJson(prepared.spec),
      yaml: prepared.yaml,
      bundle: prepared.bundle,
      builtin: false,
      ownerSessionId: sessionId,
      ownerId,
    };
  }

  /**
   * The agent a fork runs on: the catalog agent it asks for (404 for any other id), else the
   * source's, shared when it is a catalog agent and copied under a new id when it is
   * session-scoped (each session owns its own); the copy is made with the fork.
   */
  async agentForFork(
    sourceAgentId: string,
    requested?: string | null,
  ): Promise<{ agentId: string; clone?: AgentEntity }> {
    if (requested) {
      const id = normalizeId(IdPrefix.Agent, requested);
      const agent = id ? await this.agents.getById(id) : null;
      if (!agent || agent.ownerSessionId) {
        throw new DomainError(ErrorCode.NotFound, `Agent not found: '${requested}'`);
      }
      return { agentId: agent.id };
    }
    const source = await this.agents.getById(sourceAgentId);
    if (!source) {
      throw new DomainError(ErrorCode.InvalidInput, 'The source session has no agent');
    }
    return source.ownerSessionId
      ? { agentId: newId(IdPrefix.Agent), clone: source }
      : { agentId: source.id };
  }
}
