import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, ValidateBy, ValidationArguments } from 'class-validator';

import {
  Optional,
  ValidateBoolean,
  ValidateEnum,
  ValidateString,
} from 'src/common/validation/validation.decorators';
import { HANDLER_PATTERN } from 'src/modules/policies/policy-registry.service';

/** `python` = a registry handler (`function` is accepted as a synonym); `url` is not evaluable yet. */
export const POLICY_TYPES = ['python', 'function', 'url'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

/** Upstream's 422 format rules: a dotted path for python handlers, https:// for url ones. */
function HandlerFormat(): PropertyDecorator {
  return ValidateBy({
    name: 'handlerFormat',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => {
        if (typeof value !== 'string') {
          return false;
        }
        const type = (args?.object as { type?: string }).type;
        return type === 'url' ? value.startsWith('https://') : HANDLER_PATTERN.test(value);
      },
      defaultMessage: () =>
        'handler must be a dotted handler path (e.g. omnigent.policies.builtins.safety.ask_on_os_tools), or an https:// URL for type url',
    },
  });
}

export class CreatePolicyDto {
  @ValidateString({ notEmpty: true, maxLength: 200, example: 'ask_before_shell' })
  name: string;

  @ValidateEnum(POLICY_TYPES, 'PolicyType', { example: 'python' })
  type: PolicyType;

  @ValidateString({
    maxLength: 500,
    example: 'omnigent.policies.builtins.safety.ask_on_os_tools',
  })
  @HandlerFormat()
  handler: string;

  /** Validated against the handler's `params_schema` (400 when they do not fit). */
  @Optional({ nullable: true })
  @IsObject()
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  factory_params?: Record<string, unknown> | null;
}

export class UpdatePolicyDto {
  @ValidateString({ optional: true, notEmpty: true, maxLength: 200 })
  name?: string;

  @ValidateString({ optional: true, maxLength: 500 })
  handler?: string;

  @ValidateBoolean({ optional: true })
  enabled?: boolean;
}

export const ELICITATION_ACTIONS = ['accept', 'decline', 'cancel'] as const;

export class ResolveElicitationDto {
  @ValidateEnum(ELICITATION_ACTIONS, 'ElicitationAction')
  action: (typeof ELICITATION_ACTIONS)[number];

  @Optional({ nullable: true })
  @IsObject()
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, nullable: true })
  content?: Record<string, unknown> | null;
}
