import { ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import type { ValidationError, ValidatorOptions } from 'class-validator';

import { RequestValidationError } from 'src/common/validation/request-validation.error';
import { validationExceptionFactory } from 'src/common/validation/validation-exception.factory';

const ALLOW_UNKNOWN_FIELDS = 'omnigent:allow-unknown-fields';

/**
 * Unknown keys of this body are dropped instead of rejected with a 422: for request models
 * upstream does not declare `extra=forbid` (session create, posted events), which clients may
 * send with extra keys (spec/api-reference.md §1.1).
 */
export const AllowUnknownFields = (): ClassDecorator => (target) =>
  Reflect.defineMetadata(ALLOW_UNKNOWN_FIELDS, true, target);

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

  protected override validate(
    object: object,
    validatorOptions?: ValidatorOptions,
  ): Promise<ValidationError[]> | ValidationError[] {
    const lenient = Reflect.getMetadata(ALLOW_UNKNOWN_FIELDS, object.constructor) === true;
    return super.validate(
      object,
      lenient ? { ...validatorOptions, forbidNonWhitelisted: false } : validatorOptions,
    );
  }

  private isPrimitiveOrBuiltin(metatype: unknown): boolean {
    return [String, Boolean, Number, Array, Object].includes(metatype as never);
  }
}
