import {
  PolicyDecision,
  PolicyEvent,
  PolicyHandlerDef,
} from 'src/modules/policies/engine/policy.types';
import { GDRIVE_HANDLERS } from 'src/modules/policies/handlers/gdrive.handlers';
import {
  allIn,
  appendNew,
  argIds,
  commonGoogleParams,
  googleCall,
  resultIds,
  trackedIds,
} from 'src/modules/policies/handlers/google-workspace.util';

const GOOGLE = 'omnigent.policies.builtins.google';
/** session_state key (upstream's): the drafts created this session. */
export const CREATED_DRAFTS_KEY = 'gmail_created_draft_ids';

const flag = (value: boolean, description: string) => ({
  type: 'boolean',
  default: value,
  description,
});

/** One rule: the canonical tools it covers, the flag that allows them and why it denies. */
interface ToolRule {
  tools: ReadonlySet<string>;
  allowedBy: string;
  denied: string;
}

/**
 * The verdict of a service's flag rules on a tool call: DENY when the rule's flag is off, DENY for
 * an unknown tool of the service (`owned` prefix), abstain for other services' tools.
 */
function ruleVerdict(
  event: PolicyEvent,
  params: Readonly<Record<string, unknown>>,
  rules: readonly ToolRule[],
  owned: string,
): PolicyDecision | undefined {
  const { raw, tool } = googleCall(event, params.tool_prefixes as string[]);
  const deny = (why: string): PolicyDecision => ({
    result: 'DENY',
    reason: `${params.deny_reason as string} ${why}`,
  });
  const rule = rules.find((r) => r.tools.has(tool));
  if (rule) {
    return params[rule.allowedBy] === true ? undefined : deny(`${rule.allowedBy}: ${rule.denied}`);
  }
  return tool.startsWith(owned) ? deny(`unknown tool '${raw}' is not allowed.`) : undefined;
}

const GMAIL_DRAFT_EDIT = new Set(['gmail_draft_update', 'gmail_draft_delete']);
const GMAIL_RULES: ToolRule[] = [
  {
    tools: new Set([
      'gmail_search',
      'gmail_message_list',
      'gmail_message_get',
      'gmail_thread_list',
      'gmail_thread_get',
      'gmail_profile_get',
    ]),
    allowedBy: 'allow_read',
    denied: 'reading mail is not allowed.',
  },
  {
    tools: new Set(['gmail_message_send']),
    allowedBy: 'allow_send',
    denied: 'sending mail is not allowed (drafts only).',
  },
  {
    tools: new Set(['gmail_draft_create', ...GMAIL_DRAFT_EDIT]),
    allowedBy: 'allow_drafts',
    denied: 'drafts are not allowed.',
  },
  {
    tools: new Set(['gmail_message_modify', 'gmail_thread_modify']),
    allowedBy: 'allow_modify',
    denied: 'modifying messages or threads is not allowed.',
  },
];

const gmailPolicy: PolicyHandlerDef = {
  id: `${GOOGLE}.gmail_policy`,
  kind: 'factory',
  name: 'Gmail Access',
  description:
    'Gmail through a Google Workspace MCP server (upstream’s tool names, e.g. ' +
    'google__gmail_message_send). By default reading and drafting are allowed, sending and ' +
    'modifying messages (labels, trash) are not. Only drafts created this session (tracked from ' +
    'gmail_draft_create results in session_state `gmail_created_draft_ids`) may be updated or ' +
    'deleted. Other gmail_ tools are denied; non-Gmail tools are left alone.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allow_read: flag(true, 'Search, list and read mail.'),
      allow_send: flag(false, 'Send mail.'),
      allow_drafts: flag(true, 'Create drafts and edit the drafts created this session.'),
      allow_modify: flag(false, 'Modify messages and threads (labels, move, trash).'),
      ...commonGoogleParams('Gmail operation blocked by policy:'),
    },
  },
  phases: ['tool_call', 'tool_result'],
  create: (params) => (event) => {
    const { tool, args } = googleCall(event, params.tool_prefixes as string[]);
    if (event.type === 'tool_result') {
      const updates =
        tool === 'gmail_draft_create'
          ? appendNew(event, CREATED_DRAFTS_KEY, resultIds(event, new Set(['id', 'draftId'])))
          : [];
      return updates.length > 0 ? { result: 'ALLOW', state_updates: updates } : undefined;
    }
    const verdict = ruleVerdict(event, params, GMAIL_RULES, 'gmail_');
    if (verdict || !GMAIL_DRAFT_EDIT.has(tool)) {
      return verdict;
    }
    return allIn(argIds(args, ['draft_id', 'id']), trackedIds(event, CREATED_DRAFTS_KEY))
      ? undefined
      : {
          result: 'DENY',
          reason: `${params.deny_reason as string} own drafts: only drafts created this session may be edited.`,
        };
  },
};

const CALENDAR_RULES: ToolRule[] = [
  {
    tools: new Set([
      'calendar_search',
      'calendar_event_list',
      'calendar_event_get',
      'calendar_calendar_list',
      'calendar_freebusy_query',
    ]),
    allowedBy: 'allow_read',
    denied: 'reading the calendar is not allowed.',
  },
  {
    tools: new Set(['calendar_event_create', 'calendar_calendar_create']),
    allowedBy: 'allow_create_events',
    denied: 'creating events or calendars is not allowed.',
  },
  {
    tools: new Set(['calendar_event_update', 'calendar_event_delete']),
    allowedBy: 'allow_modify_events',
    denied: 'changing or deleting events is not allowed.',
  },
];

const gcalendarPolicy: PolicyHandlerDef = {
  id: `${GOOGLE}.gcalendar_policy`,
  kind: 'factory',
  name: 'Google Calendar Access',
  description:
    'Google Calendar through a Google Workspace MCP server (upstream’s tool names, e.g. ' +
    'google__calendar_event_create). Read-only by default: creating, updating and deleting ' +
    'events need allow_create_events / allow_modify_events. Other calendar_ tools are denied; ' +
    'non-Calendar tools are left alone.',
  paramsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allow_read: flag(true, 'List, search and read calendars, events and free/busy.'),
      allow_create_events: flag(false, 'Create events and calendars.'),
      allow_modify_events: flag(false, 'Update and delete events.'),
      ...commonGoogleParams('Google Calendar operation blocked by policy:'),
    },
  },
  phases: ['tool_call'],
  create: (params) => (event) => ruleVerdict(event, params, CALENDAR_RULES, 'calendar_'),
};

export const GOOGLE_HANDLERS: PolicyHandlerDef[] = [
  ...GDRIVE_HANDLERS,
  gmailPolicy,
  gcalendarPolicy,
];
