import { EXAMPLE_IDS, EXAMPLE_TIME } from 'src/common/openapi/examples';
import type {
  DefaultPolicyResponseDto,
  ElicitationLookupResponseDto,
  EvaluateResponseDto,
  RegistryEntryDto,
  SessionPolicyResponseDto,
} from 'src/modules/policies/dto/policy-response.dto';

/** The documented request and response examples of the policy routes. */
export const CREATE_POLICY_EXAMPLE = {
  name: 'max_tool_calls',
  type: 'python',
  handler: 'omnigent.policies.builtins.safety.max_tool_calls_per_session',
  factory_params: { limit: 50 },
};

export const UPDATE_POLICY_EXAMPLE = { enabled: false };

export const SESSION_POLICY_EXAMPLE: SessionPolicyResponseDto = {
  id: EXAMPLE_IDS.policy,
  object: 'session.policy',
  name: CREATE_POLICY_EXAMPLE.name,
  type: 'python',
  handler: CREATE_POLICY_EXAMPLE.handler,
  factory_params: CREATE_POLICY_EXAMPLE.factory_params,
  enabled: true,
  source: 'session',
  created_at: EXAMPLE_TIME,
  updated_at: null,
};

export const SESSION_POLICY_LIST_EXAMPLE = {
  object: 'list' as const,
  data: [SESSION_POLICY_EXAMPLE],
};

export const DEFAULT_POLICY_EXAMPLE: DefaultPolicyResponseDto = {
  id: EXAMPLE_IDS.policy,
  object: 'default_policy',
  name: CREATE_POLICY_EXAMPLE.name,
  type: 'python',
  handler: CREATE_POLICY_EXAMPLE.handler,
  factory_params: CREATE_POLICY_EXAMPLE.factory_params,
  enabled: true,
  created_at: EXAMPLE_TIME,
  updated_at: null,
  created_by: 'local',
};

export const DEFAULT_POLICY_LIST_EXAMPLE = {
  object: 'list' as const,
  data: [DEFAULT_POLICY_EXAMPLE],
};

export const POLICY_DELETED_EXAMPLE = { deleted: true as const };

const REGISTRY_ENTRY: RegistryEntryDto = {
  handler: CREATE_POLICY_EXAMPLE.handler,
  kind: 'factory',
  name: 'max_tool_calls_per_session',
  description: 'Denies tool calls once the session has made `limit` of them.',
  params_schema: {
    type: 'object',
    properties: { limit: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 100 } },
  },
  internal_only: false,
};

export const POLICY_REGISTRY_EXAMPLE = { object: 'list' as const, data: [REGISTRY_ENTRY] };

export const EVALUATE_SCHEMA = {
  type: 'object',
  required: ['event'],
  properties: {
    event: {
      type: 'object',
      required: ['type'],
      properties: {
        type: {
          type: 'string',
          enum: [
            'PHASE_REQUEST',
            'PHASE_LLM_REQUEST',
            'PHASE_LLM_RESPONSE',
            'PHASE_TOOL_CALL',
            'PHASE_TOOL_RESULT',
          ],
        },
        data: {},
        target: { type: 'string' },
        request_data: { type: 'object', additionalProperties: true },
        context: { type: 'object', additionalProperties: true },
      },
    },
  },
};

export const EVALUATE_EXAMPLE = {
  event: { type: 'PHASE_TOOL_CALL', data: { name: 'read_file', arguments: { path: 'README.md' } } },
};

export const EVALUATE_RESPONSE_EXAMPLE: EvaluateResponseDto = { result: 'POLICY_ACTION_ALLOW' };

export const RESOLVE_ELICITATION_EXAMPLE = { action: 'accept' };

export const ELICITATION_LOOKUP_EXAMPLE: ElicitationLookupResponseDto = {
  status: 'pending',
  message: 'Allow the agent to run `shell`?',
  phase: 'tool_call',
  policy_name: 'ask_on_os_tools',
  content_preview: '{"command": "ls -la"}',
};
