import { Injectable, PipeTransform } from '@nestjs/common';

import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { IdPrefix, isRunnerId, normalizeId } from 'src/common/ids/ids';

/**
 * Path ids: our prefixed form or upstream's bare/dashed forms, normalised; anything malformed is a
 * 404 `not_found` (never a 400 or 500: spec/README.md §4).
 */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  constructor(private readonly prefix: IdPrefix) {}

  transform(value: string): string {
    const id = normalizeId(this.prefix, value);
    if (!id) {
      throw new DomainError(ErrorCode.NotFound, 'Not found.');
    }
    return id;
  }
}

export const SessionIdPipe = new IdParamPipe(IdPrefix.Session);
export const HostIdPipe = new IdParamPipe(IdPrefix.Host);
export const FileIdPipe = new IdParamPipe(IdPrefix.File);

/** Runner ids are validated, not normalised (`runner_<32hex>` or `runner_token_<32hex>`). */
@Injectable()
export class RunnerIdParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isRunnerId(value)) {
      throw new DomainError(ErrorCode.NotFound, 'Not found.');
    }
    return value;
  }
}

export const RunnerIdPipe = new RunnerIdParamPipe();
