import { requestLogLevel } from 'src/common/logging/pino-options.util';

describe('requestLogLevel', () => {
  it('should log plain requests at info and failures at error', () => {
    expect(requestLogLevel('/v1/sessions', 200)).toBe('info');
    expect(requestLogLevel('/v1/sessions', 404)).toBe('info');
    expect(requestLogLevel('/v1/sessions', 500)).toBe('error');
    expect(requestLogLevel('/v1/sessions', 200, new Error('socket hang up'))).toBe('error');
  });

  it('should log the expected 503 and 504 (runner offline or slow) as warnings', () => {
    expect(requestLogLevel('/v1/sessions/:session_id/events', 503, new Error('failed'))).toBe(
      'warn',
    );
    expect(requestLogLevel('/v1/hosts/:host_id/runners', 504, new Error('failed'))).toBe('warn');
  });

  it('should keep probes at debug, draining included, unless they fail outright', () => {
    expect(requestLogLevel('/health', 200)).toBe('debug');
    expect(requestLogLevel('/ready', 503, new Error('failed'))).toBe('debug');
    expect(requestLogLevel('/ready', 500)).toBe('error');
  });
});
