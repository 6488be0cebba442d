import { DomainError } from 'src/common/errors/domain.error';
import {
  checkLabels,
  checkModelOverride,
  checkReasoningEffort,
  checkTerminalLaunchArgs,
  checkWorkspace,
  searchText,
} from 'src/modules/sessions/session-rules';

describe('session rules', () => {
  it('should refuse reserved label keys', () => {
    expect(() => checkLabels({ 'cost_control.budget': '1' })).toThrow(DomainError);
    expect(() => checkLabels({ 'omnigent.turn_actor': 'x' })).toThrow(
      "Label 'omnigent.turn_actor' is reserved",
    );
    expect(() => checkLabels({ 'omnigent.pinned.bob': '1' })).toThrow(DomainError);
    expect(() => checkLabels({ team: 'red' })).not.toThrow();
  });

  it('should accept the effort vocabulary and the clear aliases only when clearing is allowed', () => {
    expect(checkReasoningEffort('high', false)).toBe('high');
    expect(checkReasoningEffort('default', true)).toBeNull();
    expect(() => checkReasoningEffort('default', false)).toThrow(DomainError);
    expect(() => checkReasoningEffort('extreme', true)).toThrow('reasoning_effort must be one of');
    expect(checkReasoningEffort(undefined, true)).toBeUndefined();
  });

  it('should accept model ids and refuse blanks and odd characters', () => {
    expect(checkModelOverride('gpt-4.1-mini', false)).toBe('gpt-4.1-mini');
    expect(checkModelOverride('openai/gpt-4o:latest', false)).toBe('openai/gpt-4o:latest');
    expect(checkModelOverride('reset', true)).toBeNull();
    expect(() => checkModelOverride('  ', true)).toThrow(DomainError);
    expect(() => checkModelOverride('model; rm -rf', true)).toThrow(DomainError);
  });

  it('should bound terminal launch args and require absolute workspaces', () => {
    expect(() => checkTerminalLaunchArgs(Array.from({ length: 257 }, () => 'a'))).toThrow(
      DomainError,
    );
    expect(() => checkTerminalLaunchArgs(['x'.repeat(4097)])).toThrow(DomainError);
    expect(() => checkWorkspace('relative/dir')).toThrow('workspace must be an absolute path');
    expect(() => checkWorkspace('/srv/work')).not.toThrow();
    expect(() => checkWorkspace('C:\\work')).not.toThrow();
  });

  it('should trim search text and treat blank as no search', () => {
    expect(searchText('  Hello, World! ')).toBe('Hello, World!');
    expect(searchText('   ')).toBeUndefined();
    expect(searchText(undefined)).toBeUndefined();
    expect(searchText('x'.repeat(600))).toHaveLength(500);
  });
});
