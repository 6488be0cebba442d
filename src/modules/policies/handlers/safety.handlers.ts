import { createHash } from 'node:crypto';

import { PolicyEvent, PolicyHandlerDef } from 'src/modules/policies/engine/policy.types';
import {
  firstString,
  requestText,
  toolArgs,
  toolName,
  truncate,
} from 'src/modules/policies/handlers/handler-args.util';
import { OS_TOOLS } from 'src/modules/policies/handlers/tool-names.constants';

const SAFETY = 'omnigent.policies.builtins.safety';

export const TOOL_CALL_COUNT_KEY = '_policy_tool_call_count';
export const LOOP_HASHES_KEY = '_policy_loop_recent_hashes';

const maxToolCallsPerSession: PolicyHandlerDef = {
  id: `${SAFETY}.max_tool_calls_per_session`,
  kind: 'factory',
  name: 'Limit Tool Calls Per Session',
  description:
    'Denies tool calls once the session has made `limit` of them (counted in the session state).',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 100 } },
  },
  phases: ['tool_call'],
  create: (params) => {
    const limit = params.limit as number;
    return (event) => {
      const count = Number(event.session_state[TOOL_CALL_COUNT_KEY] ?? 0);
      if (count >= limit) {
        return { result: 'DENY', reason: `Exceeded ${limit} tool calls this session` };
      }
      return {
        result: 'ALLOW',
        state_updates: [{ key: TOOL_CALL_COUNT_KEY, action: 'increment', value: 1 }],
      };
    };
  },
};

/** JSON with object keys sorted recursively, so equal arguments hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const detectLoop: PolicyHandlerDef = {
  id: `${SAFETY}.detect_loop`,
  kind: 'factory',
  name: 'Detect Tool Call Loops',
  description:
    'Asks for approval when the same tool is called with identical arguments `threshold` times ' +
    'within the last `window` calls.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      threshold: { type: 'integer', minimum: 1, maximum: 1000, default: 3 },
      window: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    },
  },
  phases: ['tool_call'],
  create: (params) => {
    const window = params.window as number;
    const threshold = params.threshold as number;
    return (event) => {
      const tool = toolName(event);
      const hash = createHash('sha256')
        .update(canonicalJson({ args: toolArgs(event), tool }))
        .digest('hex');
      const previous = event.session_state[LOOP_HASHES_KEY];
      const recent = [...(Array.isArray(previous) ? previous : []), hash].slice(-window);
      const repeats = recent.filter((h) => h === hash).length;
      const state_updates = [{ key: LOOP_HASHES_KEY, action: 'set' as const, value: recent }];
      if (repeats >= threshold) {
        return {
          result: 'ASK',
          reason: `'${tool}' was called with identical arguments ${repeats} times in the last ${recent.length} calls`,
          state_updates,
        };
      }
      return { result: 'ALLOW', state_updates };
    };
  },
};

const askOnOsTools: PolicyHandlerDef = {
  id: `${SAFETY}.ask_on_os_tools`,
  kind: 'callable',
  name: 'Ask Before OS Tools',
  description:
    'Asks for approval before any file or shell tool (every harness vocabulary, and our ' +
    "runner's list_dir, read_file, write_file, edit_file, shell).",
  paramsSchema: null,
  phases: ['tool_call'],
  create: () => (event) => {
    const tool = toolName(event);
    if (!OS_TOOLS.has(tool)) {
      return undefined;
    }
    const preview = firstString(toolArgs(event), [
      'command',
      'cmd',
      'pattern',
      'path',
      'file_path',
      'filePath',
    ]);
    return {
      result: 'ASK',
      reason: preview ? `Allow ${tool}: ${truncate(preview, 200)}?` : `Allow ${tool}?`,
    };
  },
};

const blockSkills: PolicyHandlerDef = {
  id: `${SAFETY}.block_skills`,
  kind: 'factory',
  name: 'Block Skills',
  description:
    'Denies loading the listed skills (tool calls load_skill / read_skill_file / Skill, and ' +
    '`/name` slash commands in user messages). Case-insensitive.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['blocked'],
    properties: {
      blocked: {
        type: 'array',
        maxItems: 1000,
        items: { type: 'string', minLength: 1, maxLength: 200 },
      },
    },
  },
  phases: ['tool_call', 'request'],
  create: (params) => {
    const blocked = new Set((params.blocked as string[]).map((s) => s.toLowerCase()));
    const deny = (skill: string) =>
      blocked.has(skill.toLowerCase())
        ? { result: 'DENY' as const, reason: `Skill '${skill}' is blocked by policy` }
        : undefined;
    return (event: PolicyEvent) => {
      if (event.type === 'request') {
        const match = /^\s*\/([^\s/]+)/.exec(requestText(event));
        return match ? deny(match[1]) : undefined;
      }
      const args = toolArgs(event);
      const key = { load_skill: 'name', read_skill_file: 'skill_name', Skill: 'skill' }[
        toolName(event)
      ];
      const skill = key ? args[key] : undefined;
      return typeof skill === 'string' ? deny(skill) : undefined;
    };
  },
};

const PII_PATTERNS: Record<string, RegExp> = {
  credit_card: /\b\d(?:[ -]?\d){12,15}\b/,
  email:
    /\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/,
  phone: /(?:\+?1[-. ]?)?\(?\b\d{3}\)?[-. ]?\d{3}[-. ]\d{4}\b/,
  ssn: /\b\d{3}-\d{2}-\d{4}\b/,
};
const PII_TYPES = ['ssn', 'credit_card', 'email', 'phone'];

/** A masked form of a match: its kind and length, never its characters. */
function mask(match: string): string {
  return `${'*'.repeat(Math.min(match.length, 8))} (${match.length} chars)`;
}

const denyPiiInLlmRequest: PolicyHandlerDef = {
  id: `${SAFETY}.deny_pii_in_llm_request`,
  kind: 'factory',
  name: 'Deny PII In LLM Requests',
  description:
    'Scans user messages (and LLM request previews) for SSNs, credit card numbers, emails and ' +
    'phone numbers; denies (or asks) on the first match. The match is masked in the reason.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      action: { type: 'string', enum: ['DENY', 'ASK'], default: 'DENY' },
      pii_types: {
        type: 'array',
        uniqueItems: true,
        maxItems: 4,
        items: { type: 'string', enum: PII_TYPES },
        default: PII_TYPES,
      },
    },
  },
  phases: ['request', 'llm_request'],
  create: (params) => {
    const types = params.pii_types as string[];
    const action = params.action as 'DENY' | 'ASK';
    return (event) => {
      let texts: string[];
      if (event.type === 'request') {
        const data = event.data as { attachments?: { text?: unknown }[] } | null;
        const attachments = Array.isArray(data?.attachments) ? data.attachments : [];
        texts = [
          requestText(event),
          ...attachments.map((a) => (typeof a?.text === 'string' ? a.text : '')),
        ];
      } else {
        const data = (event.data ?? {}) as Record<string, unknown>;
        texts = ['system_prompt_preview', 'last_user_message'].map((k) =>
          typeof data[k] === 'string' ? (data[k] as string) : '',
        );
      }
      for (const text of texts) {
        for (const type of types) {
          const match = PII_PATTERNS[type].exec(text);
          if (match) {
            return {
              result: action,
              reason: `Possible ${type.replace('_', ' ')} detected: ${mask(match[0])}`,
            };
          }
        }
      }
      return undefined;
    };
  },
};

export const SAFETY_HANDLERS: PolicyHandlerDef[] = [
  askOnOsTools,
  blockSkills,
  denyPiiInLlmRequest,
  detectLoop,
  maxToolCallsPerSession,
];

/** Always appended last (spec/policies.md §3): an agent never adds a policy to itself silently. */
export const ASK_ON_ADD_POLICY: PolicyHandlerDef = {
  id: `${SAFETY}.ask_on_add_policy`,
  kind: 'callable',
  name: 'Ask Before Adding Policies',
  description: 'Asks before any sys_add_policy tool call.',
  paramsSchema: null,
  phases: ['tool_call'],
  internalOnly: true,
  create: () => (event) => {
    if (toolName(event) !== 'sys_add_policy') {
      return undefined;
    }
    const args = toolArgs(event);
    return {
      result: 'ASK',
      reason: `Add policy ${String(args.name ?? '?')} (${String(args.handler ?? '?')})?`,
    };
  },
};
