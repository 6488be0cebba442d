import { DomainError } from 'src/common/errors/domain.error';
import { ErrorCode } from 'src/common/errors/error-code';
import { REASONING_EFFORTS } from 'src/modules/sessions/dto/session-request.dto';

/** Semantic checks on session fields (spec/api-reference.md §3.2, §3.5): failures are 400s. */

const CLEAR_ALIASES = ['default', 'off', 'reset'];
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;

function invalid(message: string): DomainError {
  return new DomainError(ErrorCode.InvalidInput, message);
}

export function checkLabels(labels: Record<string, string> | null | undefined): void {
  for (const key of Object.keys(labels ?? {})) {
    if (
      key.startsWith('cost_control.') ||
      key === 'omnigent.turn_actor' ||
      key.startsWith('omnigent.pinned.')
    ) {
      throw invalid(`Label '${key}' is reserved`);
    }
    if (key.length === 0 || key.length > 256) {
      throw invalid('Label keys must be 1–256 characters');
    }
  }
  for (const value of Object.values(labels ?? {})) {
    if (value.length > 4096) {
      throw invalid('Label values must be at most 4096 characters');
    }
  }
}

/** Returns the stored value: null clears (PATCH aliases), undefined leaves unchanged. */
export function checkReasoningEffort(
  value: string | null | undefined,
  allowClear: boolean,
): string | null | undefined {
  if (value === undefined || value === null) {
    return value;
  }
  if (allowClear && CLEAR_ALIASES.includes(value)) {
    return null;
  }
  if (!(REASONING_EFFORTS as readonly string[]).includes(value)) {
    throw invalid(`reasoning_effort must be one of: ${REASONING_EFFORTS.join(', ')}`);
  }
  return value;
}

export function checkModelOverride(
  value: string | null | undefined,
  allowClear: boolean,
): string | null | undefined {
  if (value === undefined || value === null) {
    return value;
  }
  if (allowClear && CLEAR_ALIASES.includes(value)) {
    return null;
  }
  if (value.trim() === '' || !MODEL_ID.test(value)) {
    throw invalid(`model_override '${value}' is not a valid model id`);
  }
  return value;
}

/** `"on"` / `"off"`, or null (clears). */
export function checkOnOff(
  field: string,
  value: string | null | undefined,
): 'on' | 'off' | null | undefined {
  if (value === undefined || value === null || value === 'on' || value === 'off') {
    return value;
  }
  throw invalid(`${field} must be "on", "off" or null`);
}

export function checkTerminalLaunchArgs(args: string[] | null | undefined): void {
  if (args && (args.length > 256 || args.some((a) => a.length > 4096))) {
    throw invalid('terminal_launch_args allows at most 256 entries of at most 4096 characters');
  }
}

export function checkWorkspace(workspace: string | null | undefined): void {
  if (workspace === undefined || workspace === null) {
    return;
  }
  if (workspace.includes('\0')) {
    throw invalid('workspace must not contain NUL bytes');
  }
  if (!workspace.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(workspace)) {
    throw invalid('workspace must be an absolute path');
  }
}

/**
 * The words to search for, or undefined for no search. PostgreSQL splits them into lexemes
 * (PREFIX_TSQUERY), so `bob@example.com` or `1.5` stay whole, as they are in the index.
 */
export function searchText(search: string | undefined): string | undefined {
  const text = (search ?? '').trim();
  return text.length > 0 ? text.slice(0, 500) : undefined;
}
