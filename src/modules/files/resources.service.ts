import { Injectable } from '@nestjs/common';

import type { AuthPrincipal } from 'src/common/auth/auth-principal';
import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, normalizeId } from 'src/common/ids/ids';
import { ListEnvelope, listEnvelope } from 'src/common/pagination/pagination';
import { EnvironmentsService, PRIMARY_ENVIRONMENT } from 'src/modules/files/environments.service';
import { FilesService } from 'src/modules/files/files.service';
import { TerminalsService } from 'src/modules/terminals/terminals.service';

const RESOURCE_TYPES = ['environment', 'terminal', 'file'];
const FILES_IN_INVENTORY = 1000;

/**
 * `GET …/resources` and `…/resources/{id}` (spec/api-reference.md §8.1): the runner's inventory
 * (the primary environment and its terminals) with the server's files appended. Like upstream,
 * even a files-only listing needs a bound, online runner.
 */
@Injectable()
export class ResourcesService {
  constructor(
    private readonly environments: EnvironmentsService,
    private readonly files: FilesService,
    private readonly terminals: TerminalsService,
  ) {}

  async list(
    auth: AuthPrincipal,
    sessionId: string,
    type: string | undefined,
  ): Promise<ListEnvelope<Record<string, unknown>>> {
    if (type !== undefined && !RESOURCE_TYPES.includes(type)) {
      throw new DomainError(
        ErrorCode.InvalidInput,
        `type must be one of ${RESOURCE_TYPES.join(', ')}`,
      );
    }
    const env = await this.environments.get(auth, sessionId, PRIMARY_ENVIRONMENT, false);
    const data: Record<string, unknown>[] = [];
    if (type === undefined || type === 'environment') {
      data.push(env);
    }
    if (type === undefined || type === 'terminal') {
      const terminals = await this.terminals.inventory(auth, sessionId);
      data.push(...terminals.map((terminal) => ({ ...terminal })));
    }
    if (type === undefined || type === 'file') {
      const files = await this.files.list(auth, sessionId, { limit: FILES_IN_INVENTORY });
      data.push(...files.data.map((file) => ({ ...file })));
    }
    return listEnvelope(data, false, (r) => String(r.id));
  }

  async get(
    auth: AuthPrincipal,
    sessionId: string,
    resourceId: string,
  ): Promise<Record<string, unknown>> {
    if (resourceId === PRIMARY_ENVIRONMENT) {
      return this.environments.get(auth, sessionId, resourceId);
    }
    if (resourceId.startsWith(`${IdPrefix.Terminal}_`)) {
      return { ...(await this.terminals.get(auth, sessionId, resourceId)) };
    }
    if (normalizeId(IdPrefix.File, resourceId)) {
      await this.environments.get(auth, sessionId, PRIMARY_ENVIRONMENT, false);
      return { ...(await this.files.get(auth, sessionId, resourceId)) };
    }
    await this.environments.get(auth, sessionId, PRIMARY_ENVIRONMENT, false);
    throw new DomainError(ErrorCode.NotFound, 'Resource not found');
  }
}
