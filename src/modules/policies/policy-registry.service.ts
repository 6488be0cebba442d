import { Inject, Injectable, Optional } from '@nestjs/common';
import type { default as Ajv, ValidateFunction } from 'ajv';

import type { AppConfig } from 'src/config/app-config';
import { APP_CONFIG } from 'src/config/config.constants';
import {
  BoundPolicy,
  LabelCondition,
  PolicyHandlerDef,
  PolicySource,
} from 'src/modules/policies/engine/policy.types';
import { CONTEXT_HANDLERS } from 'src/modules/policies/handlers/context.handlers';
import { COST_HANDLERS } from 'src/modules/policies/handlers/cost.handlers';
import { GITHUB_HANDLERS } from 'src/modules/policies/handlers/github.handlers';
import { GOOGLE_HANDLERS } from 'src/modules/policies/handlers/google.handlers';
import { ORCHESTRATION_HANDLERS } from 'src/modules/policies/handlers/orchestration.handlers';
import { PROMPT_HANDLERS } from 'src/modules/policies/handlers/prompt.handlers';
import { RISK_SCORE_HANDLERS } from 'src/modules/policies/handlers/risk-score.handlers';
import { ROUTING_HANDLERS } from 'src/modules/policies/handlers/routing.handlers';
import { ASK_ON_ADD_POLICY, SAFETY_HANDLERS } from 'src/modules/policies/handlers/safety.handlers';
import { SANDBOX_HANDLERS } from 'src/modules/policies/handlers/sandbox.handlers';
import { SHELL_HANDLERS } from 'src/modules/policies/handlers/shell.handlers';
import { TASK_SWITCH_HANDLERS } from 'src/modules/policies/handlers/task-switch.handlers';

/** The handlers that ask the policy judge: registered only when the server has one. */
const JUDGED_HANDLERS = [...PROMPT_HANDLERS, ...ROUTING_HANDLERS, ...TASK_SWITCH_HANDLERS];

/** Upstream's dotted handler form (spec/policies.md §6.2). */
export const HANDLER_PATTERN = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/;
const MAX_PARAMS_BYTES = 16 * 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Why params were refused (a 400 `invalid_input` at the API). */
export class PolicyParamsError extends Error {}

/** A registry entry as `GET /v1/policy-registry` shows it. */
export interface RegistryEntry {
  handler: string;
  kind: 'factory' | 'callable';
  name: string;
  description: string;
  params_schema: Record<string, unknown> | null;
  internal_only: boolean;
}

interface Entry {
  def: PolicyHandlerDef;
  /** Compiled on the entry's first use; null when the handler takes no params. */
  validate?: ValidateFunction | null;
}

/**
 * The only handlers a policy can name (spec/policies.md §8.1): an in-process map from upstream
 * handler ids to the built-in TypeScript factories. A stored or submitted `handler` is only a
 * key into it (`Map.get`); nothing is ever loaded from user input. Params are validated
 * against the handler's strict JSON Schema (defaults applied) and frozen.
 */
@Injectable()
export class PolicyRegistryService {
  private readonly entries = new Map<string, Entry>();
  private ajv?: Ajv;

  /** `judge`: whether the server has a policy judge (the LLM-judged handlers exist only then). */
  constructor(@Optional() @Inject(APP_CONFIG) config?: AppConfig) {
    for (const def of [
      ...(config?.policies.judge ? JUDGED_HANDLERS : []),
      ...CONTEXT_HANDLERS,
      ...COST_HANDLERS,
      ...GITHUB_HANDLERS,
      ...GOOGLE_HANDLERS,
      ...ORCHESTRATION_HANDLERS,
      ...RISK_SCORE_HANDLERS,
      ...SAFETY_HANDLERS,
      ...SANDBOX_HANDLERS,
      ...SHELL_HANDLERS,
      ASK_ON_ADD_POLICY,
    ]) {
      this.entries.set(def.id, { def });
    }
  }

  list(): RegistryEntry[] {
    return [...this.entries.values()]
      .filter((e) => !e.def.internalOnly)
      .map(({ def }) => ({
        handler: def.id,
        kind: def.kind,
        name: def.name,
        description: def.description,
        params_schema: def.paramsSchema,
        internal_only: false,
      }))
      .sort((a, b) => a.handler.localeCompare(b.handler));
  }

  /** True for a public handler id (internal ones cannot be attached). */
  has(handler: string): boolean {
    const entry = typeof handler === 'string' ? this.entries.get(handler) : undefined;
    return Boolean(entry && !entry.def.internalOnly);
  }

  /**
   * The handler's params validator, compiled by Ajv on first use rather than all at start-up
   * (Ajv and the compiles were ~90 ms of a warm start; issue 12). The spec compiles every one.
   */
  private validatorOf(entry: Entry): ValidateFunction | null {
    if (entry.validate === undefined) {
      if (entry.def.paramsSchema) {
        if (!this.ajv) {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { default: AjvClass } = require('ajv') as typeof import('ajv');
          this.ajv = new AjvClass({ allErrors: false, strict: true, useDefaults: true });
        }
        entry.validate = this.ajv.compile(entry.def.paramsSchema);
      } else {
        entry.validate = null;
      }
    }
    return entry.validate;
  }

  /** Validated, defaulted, frozen params; throws PolicyParamsError. */
  validateParams(handler: string, params: unknown): Readonly<Record<string, unknown>> {
    const entry = this.entries.get(handler);
    if (!entry) {
      throw new PolicyParamsError(`Handler '${handler}' is not in the policy registry`);
    }
    if (params !== undefined && params !== null) {
      if (typeof params !== 'object' || Array.isArray(params)) {
        throw new PolicyParamsError('factory_params must be an object');
      }
      if (JSON.stringify(params).length > MAX_PARAMS_BYTES) {
        throw new PolicyParamsError('factory_params is too large');
      }
      assertNoForbiddenKeys(params);
    }
    const given = (params ?? {}) as Record<string, unknown>;
    const validate = this.validatorOf(entry);
    if (!validate) {
      if (Object.keys(given).length > 0) {
        throw new PolicyParamsError(`Handler '${handler}' takes no factory_params`);
      }
      return Object.freeze({});
    }
    const copy = structuredClone(given);
    if (!validate(copy)) {
      const error = validate.errors?.[0];
      const where = error?.instancePath
        ? `factory_params${error.instancePath.replace(/\//g, '.')}`
        : 'factory_params';
      const extra =
        error?.keyword === 'additionalProperties'
          ? ` (unknown key '${String((error.params as { additionalProperty?: string }).additionalProperty)}')`
          : '';
      throw new PolicyParamsError(`${where} ${error?.message ?? 'is invalid'}${extra}`);
    }
    const problem = entry.def.check?.(copy);
    if (problem) {
      throw new PolicyParamsError(problem);
    }
    return deepFreeze(copy);
  }

  /** An instance of a registered handler (internal ones included), params validated again. */
  bind(
    policy: {
      name: string;
      handler: string;
      factoryParams?: unknown;
      askTimeoutS?: number | null;
      condition?: LabelCondition;
      setLabels?: readonly string[];
    },
    source: PolicySource,
  ): BoundPolicy {
    const entry = this.entries.get(policy.handler);
    if (!entry) {
      throw new PolicyParamsError(`Handler '${policy.handler}' is not in the policy registry`);
    }
    const params = this.validateParams(policy.handler, policy.factoryParams);
    return {
      name: policy.name,
      source,
      handler: policy.handler,
      phases: entry.def.phases,
      evaluate: entry.def.create(params),
      askTimeoutS: policy.askTimeoutS ?? null,
      ...(policy.condition && { condition: policy.condition }),
      ...(policy.setLabels && { setLabels: policy.setLabels }),
      ...(entry.def.needs && { needs: entry.def.needs }),
      ...(entry.def.judged && { judged: true }),
    };
  }

  /** The guard appended after every level. */
  askOnAddPolicy(): BoundPolicy {
    return this.bind({ name: '__ask_on_add_policy', handler: ASK_ON_ADD_POLICY.id }, 'builtin');
  }
}

function assertNoForbiddenKeys(value: unknown, depth = 0): void {
  if (depth > 32) {
    throw new PolicyParamsError('factory_params is nested too deeply');
  }
  if (Array.isArray(value)) {
    value.forEach((v) => assertNoForbiddenKeys(v, depth + 1));
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        throw new PolicyParamsError(`factory_params may not contain the key '${key}'`);
      }
      assertNoForbiddenKeys((value as Record<string, unknown>)[key], depth + 1);
    }
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
