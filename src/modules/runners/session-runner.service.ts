import { Injectable } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { codeForStatus, ErrorCode } from 'src/common/errors/error-code';
import { AgentsService } from 'src/modules/registry/agents.service';
import { RunnerRpcService, RunnerTarget } from 'src/modules/runners/runner-rpc.service';
import { AgentSpecWire } from 'src/protocol/agent-spec';
import { RPC_DISCONNECTED, RPC_TIMEOUT, RpcError } from 'src/protocol/json-rpc';
import { ENV_RUNNER_ERROR, EnvRequestParams } from 'src/protocol/runner-protocol';

const RUNNER_CALL_MS = 30_000;

/** The session fields a workspace request needs (a SessionEntity fits). */
export interface RunnerSession extends RunnerTarget {
  id: string;
  agentId: string;
  workspace: string | null;
}

export interface SessionRunnerCallOptions {
  /** The session's agent spec when the caller has it; null sends no sandbox; omitted loads it. */
  spec?: Partial<AgentSpecWire> | null;
  timeoutMs?: number;
}

/**
 * One `env.*` or `terminal.*` request about a session's workspace to the runner it is bound to
 * (docs/RESOURCES.md), shared by environments and terminals: an unbound session is 409, and the
 * runner's refusals, timeouts and disconnects become our errors.
 */
@Injectable()
export class SessionRunnerService {
  constructor(
    private readonly agents: AgentsService,
    private readonly rpc: RunnerRpcService,
  ) {}

  async agentSpec(session: RunnerSession): Promise<Partial<AgentSpecWire>> {
    const agent = await this.agents.getById(session.agentId);
    return (agent?.spec ?? {}) as Partial<AgentSpecWire>;
  }

  async call<T>(
    session: RunnerSession,
    method: string,
    params: Record<string, unknown>,
    { spec, timeoutMs = RUNNER_CALL_MS }: SessionRunnerCallOptions = {},
  ): Promise<T> {
    if (!session.runnerId) {
      throw new DomainError(
        ErrorCode.Conflict,
        `Session ${session.id} is not bound to a runner; resume the session or bind a runner first`,
      );
    }
    const sandboxOf = spec === undefined ? await this.agentSpec(session) : spec;
    const request: EnvRequestParams = {
      session_id: session.id,
      workspace: session.workspace,
      sandbox: sandboxOf?.os_env?.sandbox ?? null,
      ...params,
    };
    try {
      return await this.rpc.call<T>(session, method, request, timeoutMs);
    } catch (error) {
      throw runnerError(error);
    }
  }
}

/** A runner call failure as our error. */
function runnerError(error: unknown): Error {
  if (error instanceof DomainError) {
    return error;
  }
  if (error instanceof RpcError) {
    const data = (error.data ?? {}) as { code?: string; status?: number };
    if (error.code === ENV_RUNNER_ERROR && typeof data.status === 'number') {
      return new DomainError(codeForStatus(data.status), error.message);
    }
    if (error.code === RPC_TIMEOUT) {
      return new DomainError(ErrorCode.Timeout, 'The runner did not answer in time');
    }
    if (error.code === RPC_DISCONNECTED) {
      return new DomainError(ErrorCode.RunnerUnavailable, 'The runner disconnected');
    }
    return new DomainError(
      ErrorCode.BadGateway,
      `runner resource endpoint unavailable: ${error.message}`,
    );
  }
  return error as Error;
}
