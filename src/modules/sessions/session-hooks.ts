import { Injectable, Logger } from '@nestjs/common';

/** Runs once sessions are deleted (their rows are gone), with their ids. */
export type SessionsDeletedHook = (sessionIds: string[]) => Promise<void>;

/**
 * Features that keep data of a session outside its rows (the file store's blobs) register
 * here, so the sessions feature does not depend on them (style rule 20, like RunnerHooks).
 */
@Injectable()
export class SessionHooks {
  private readonly logger = new Logger('SessionHooks');
  private readonly onDeleted: SessionsDeletedHook[] = [];

  registerDeleted(hook: SessionsDeletedHook): void {
    this.onDeleted.push(hook);
  }

  /** Never throws: the sessions are gone either way; a failing hook is logged. */
  async deleted(sessionIds: string[]): Promise<void> {
    for (const hook of this.onDeleted) {
      await hook(sessionIds).catch((error: Error) =>
        this.logger.warn(`A session deletion hook failed: ${error.message}`),
      );
    }
  }
}
