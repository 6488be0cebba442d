import { ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';

import { RequestValidationError } from 'src/common/validation/request-validation.error';
import { validationExceptionFactory } from 'src/common/validation/validation-exception.factory';

const LOC_PREFIX: Record<ArgumentMetadata['type'], string> = {
  body: 'body',
  custom: 'body',
  param: 'path',
  query: 'query',
};

/**
 * The global pipe (style rule 10): strict whitelisting, transformation, and FastAPI-style 422s
 * whose `loc` names where the bad value came from.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({
      exceptionFactory: validationExceptionFactory,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
      transform: true,
      whitelist: true,
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      metadata.metatype &&
      !this.isPrimitiveOrBuiltin(metadata.metatype)
    ) {
      if (
        value === undefined ||
        value === null ||
        typeof value !== 'object' ||
        Array.isArray(value)
      ) {
        throw new RequestValidationError([
          {
            loc: ['body'],
            msg: 'Input should be a valid dictionary or object',
            type: 'model_attributes_type',
            input: value ?? null,
          },
        ]);
      }
    }
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (error instanceof RequestValidationError) {
        const prefix = LOC_PREFIX[metadata.type];
        throw new RequestValidationError(
          error.detail.map((d) => ({
            ...d,
            loc: d.loc[0] === prefix ? d.loc : [prefix, ...d.loc],
          })),
        );
      }
      throw error;
    }
  }

  private isPrimitiveOrBuiltin(metatype: unknown): boolean {
    return [String, Boolean, Number, Array, Object].includes(metatype as never);
  }
}
