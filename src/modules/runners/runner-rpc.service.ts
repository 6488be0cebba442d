import { Injectable } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { RunnerGatewayService } from 'src/modules/runners/runner-gateway.service';

/**
 * Calls a method on a runner wherever its socket is. Today every runner a server can reach is
 * connected to this process; with several replicas, calls to a runner held elsewhere travel over
 * the bus (`r:{runner}` → holder → `rep:{replica}`, spec/runner-protocol.md §9) behind this API.
 */
@Injectable()
export class RunnerRpcService {
  constructor(private readonly gateway: RunnerGatewayService) {}

  isConnectedHere(runnerId: string): boolean {
    return this.gateway.local(runnerId) !== undefined;
  }

  call<T>(runnerId: string, method: string, params: unknown, timeoutMs: number): Promise<T> {
    const connection = this.gateway.local(runnerId);
    if (!connection) {
      return Promise.reject(
        new DomainError(ErrorCode.RunnerUnavailable, `Runner ${runnerId} is not connected`),
      );
    }
    return connection.request<T>(method, params, timeoutMs);
  }
}
