/** How long after the first `session.init` of a burst its summary line is written. */
export const INIT_LOG_WINDOW_MS = 500;
const SHOWN_IDS = 5;

/**
 * Logs `session.init`s as one line per burst: a reconnect re-initialises every session the
 * runner serves, which was one line each (1,009 lines after one restart). A lone init keeps the
 * old wording, `session <id> ready (agent <name>)`, also when that session was initialised twice
 * in the burst (a background init after a PATCH and the init a `turn.start` asked for can land
 * together on a busy machine: that burst read "2 sessions ready (conv_a, conv_a)").
 */
export class InitLog {
  /** By session id: a session initialised twice in one burst is one session ready. */
  private readonly pending = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly log: (message: string) => void,
    /** Sessions held right now, for the summary. */
    private readonly holding: () => number,
  ) {}

  note(sessionId: string, agent: string): void {
    this.pending.set(sessionId, agent);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), INIT_LOG_WINDOW_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const inits = [...this.pending].map(([sessionId, agent]) => ({ sessionId, agent }));
    this.pending.clear();
    if (inits.length === 1) {
      this.log(`session ${inits[0].sessionId} ready (agent ${inits[0].agent})`);
    } else if (inits.length > 1) {
      const shown = inits.slice(0, SHOWN_IDS).map((init) => init.sessionId);
      const more = inits.length - shown.length;
      this.log(
        `${inits.length} sessions ready (${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}); ` +
          `holding ${this.holding()}`,
      );
    }
  }
}
