import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';

interface CommonOptions {
  optional?: boolean;
  /** Allows an explicit JSON null (which then reaches the service as null). */
  nullable?: boolean;
  description?: string;
  example?: unknown;
}

function apiProperty(options: CommonOptions, extra: ApiPropertyOptions): PropertyDecorator {
  return ApiProperty({
    description: options.description,
    example: options.example,
    nullable: options.nullable || undefined,
    required: !options.optional,
    ...extra,
  } as ApiPropertyOptions);
}

/**
 * Skips validation when the value is absent (or null, with `nullable`). Without `nullable`, a
 * JSON null is still validated, so it is rejected.
 */
export function Optional({ nullable }: { nullable?: boolean } = {}): PropertyDecorator {
  return nullable
    ? IsOptional()
    : ValidateIf((_object: object, value: unknown) => value !== undefined);
}

function presence(options: CommonOptions): PropertyDecorator[] {
  return options.optional ? [Optional({ nullable: options.nullable })] : [];
}

// Query strings carry text; "true"/"false" (and 1/0) become booleans, anything else stays a string
// and fails validation with a clear message.
const toBoolean = ({ value }: { value: unknown }) => {
  if (value === 'true' || value === '1') {
    return true;
  }
  if (value === 'false' || value === '0') {
    return false;
  }
  return value;
};
const toInteger = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;

export function ValidateBoolean(options: CommonOptions = {}): PropertyDecorator {
  return applyDecorators(
    ...presence(options),
    Transform(toBoolean),
    IsBoolean(),
    apiProperty(options, { type: Boolean }),
  );
}

export function ValidateInt(
  options: CommonOptions & { min?: number; max?: number; default?: number } = {},
): PropertyDecorator {
  return applyDecorators(
    ...presence(options),
    Transform(toInteger),
    IsInt(),
    ...(options.min !== undefined ? [Min(options.min)] : []),
    ...(options.max !== undefined ? [Max(options.max)] : []),
    apiProperty(options, {
      type: 'integer',
      minimum: options.min,
      maximum: options.max,
      default: options.default,
    }),
  );
}

export function ValidateString(
  options: CommonOptions & { maxLength?: number; notEmpty?: boolean } = {},
): PropertyDecorator {
  return applyDecorators(
    ...presence(options),
    IsString(),
    ...(options.notEmpty ? [IsNotEmpty()] : []),
    ...(options.maxLength ? [MaxLength(options.maxLength)] : []),
    apiProperty(options, { type: String, maxLength: options.maxLength }),
  );
}

export function ValidateEnum<T extends string>(
  values: readonly T[],
  enumName: string,
  options: CommonOptions & { default?: T } = {},
): PropertyDecorator {
  return applyDecorators(
    ...presence(options),
    IsIn(values as T[], { message: `$property must be one of: ${values.join(', ')}` }),
    apiProperty(options, { enum: values as T[], enumName, default: options.default }),
  );
}

/** A string → string map (labels), at most `maxEntries` keys. */
export function ValidateStringMap(
  options: CommonOptions & { maxEntries?: number } = {},
): PropertyDecorator {
  const maxEntries = options.maxEntries ?? 256;
  return applyDecorators(
    ...presence(options),
    ValidateBy({
      name: 'isStringMap',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.keys(value).length <= maxEntries &&
          Object.values(value).every((v) => typeof v === 'string'),
        defaultMessage: () =>
          `$property must be an object of string values with at most ${maxEntries} keys`,
      },
    }),
    apiProperty(options, { type: 'object', additionalProperties: { type: 'string' } }),
  );
}

export function ValidateStringArray(
  options: CommonOptions & { maxItems?: number; maxLength?: number } = {},
): PropertyDecorator {
  return applyDecorators(
    ...presence(options),
    IsArray(),
    IsString({ each: true }),
    ...(options.maxLength ? [MaxLength(options.maxLength, { each: true })] : []),
    apiProperty(options, { type: [String], maxItems: options.maxItems }),
  );
}
