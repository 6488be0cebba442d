import { ArgumentMetadata, Inject, Injectable, Optional, ValidationPipe } from '@nestjs/common';
import type { ValidationError, ValidatorOptions } from 'class-validator';

import { DEFAULT_JSON_MAX_DEPTH, findUnsafeInput } from 'src/common/validation/input-text.util';
import { RequestValidationError } from 'src/common/validation/request-validation.error';
import { validationExceptionFactory } from 'src/common/validation/validation-exception.factory';
import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';

const ALLOW_UNKNOWN_FIELDS = 'omnigent:allow-unknown-fields';

/**
 * Unknown keys of this body are dropped instead of rejected with a 422: for request models
 * upstream does not declare `extra=forbid` (session create, posted events), which clients may
 * send with extra keys (spec/api-reference.md §1.1).
 */
export const AllowUnknownFields = (): ClassDecorator => (target) =>
  Reflect.defineMetadata(ALLOW_UNKNOWN_FIELDS, true, target);

/**
 * A body class that recognises its own plainly valid bodies: `fastBody` returns the instance the
 * full pipe (class-transformer, then class-validator) would return for that value, or undefined
 * to take the full path, which then gives every answer and every error. For bodies on a turn's
 * path (issue 12: class-transformer + class-validator were ~0.4 ms of CPU per posted event).
 */
export interface FastBody {
  fastBody(value: Record<string, unknown>): object | undefined;
}

const hasFastBody = (metatype: unknown): metatype is FastBody =>
  typeof (metatype as Partial<FastBody>).fastBody === 'function';

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
  private readonly maxDepth: number;

  constructor(@Optional() @Inject(APP_CONFIG) config?: AppConfig) {
    super({
      exceptionFactory: validationExceptionFactory,
      forbidNonWhitelisted: true,
      forbidUnknownValues: false,
      transform: true,
      whitelist: true,
    });
    this.maxDepth = config?.http.jsonMaxDepth ?? DEFAULT_JSON_MAX_DEPTH;
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
    // Bodies and queries must be storable text, whichever route or parser they came through
    // (docs/SECURITY.md, "Input limits"). Path ids are left to their pipes (malformed is a 404).
    if (metadata.type === 'body' || metadata.type === 'query') {
      const unsafe = findUnsafeInput(value, [LOC_PREFIX[metadata.type]], this.maxDepth);
      if (unsafe.length > 0) {
        throw new RequestValidationError(unsafe);
      }
    }
    if (metadata.type === 'body' && hasFastBody(metadata.metatype)) {
      const fast = metadata.metatype.fastBody(value as Record<string, unknown>);
      if (fast !== undefined) {
        return fast;
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
          error.total,
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
