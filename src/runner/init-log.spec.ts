import { INIT_LOG_WINDOW_MS, InitLog } from 'src/runner/init-log';

describe(InitLog.name, () => {
  let lines: string[];
  let log: InitLog;

  beforeEach(() => {
    jest.useFakeTimers();
    lines = [];
    log = new InitLog(
      (line) => lines.push(line),
      () => 1000,
    );
  });

  afterEach(() => jest.useRealTimers());

  it('should keep the old line for a lone init', () => {
    log.note('conv_1', 'echo');
    expect(lines).toEqual([]);

    jest.advanceTimersByTime(INIT_LOG_WINDOW_MS);

    expect(lines).toEqual(['session conv_1 ready (agent echo)']);
  });

  it('should write one line for a burst, such as the re-inits after a reconnect', () => {
    for (let i = 0; i < 1000; i++) {
      log.note(`conv_${i}`, 'echo');
    }
    jest.advanceTimersByTime(INIT_LOG_WINDOW_MS);

    expect(lines).toEqual([
      '1000 sessions ready (conv_0, conv_1, conv_2, conv_3, conv_4, and 995 more); holding 1000',
    ]);
  });

  it('should start a new line for inits after the window, and flush on demand', () => {
    log.note('conv_a', 'echo');
    jest.advanceTimersByTime(INIT_LOG_WINDOW_MS);
    log.note('conv_b', 'echo');
    log.note('conv_c', 'echo');
    log.flush();

    expect(lines).toEqual([
      'session conv_a ready (agent echo)',
      '2 sessions ready (conv_b, conv_c); holding 1000',
    ]);
    jest.advanceTimersByTime(INIT_LOG_WINDOW_MS);
    expect(lines).toHaveLength(2);
  });

  // The flaky `newest-wins` e2e test: the session's background init (after its PATCH) and the
  // init its first turn asked for reached the new runner within one window, and the lone-init
  // line the test waits for read "2 sessions ready (conv_a, conv_a)".
  it('should count a session initialised twice in one burst once', () => {
    log.note('conv_a', 'echo');
    log.note('conv_a', 'echo');
    jest.advanceTimersByTime(INIT_LOG_WINDOW_MS);

    expect(lines).toEqual(['session conv_a ready (agent echo)']);
  });
});
