import { Logger } from '@nestjs/common';

export type BusHandler = (message: unknown) => void;

/**
 * The handlers this process registered, by channel: every bus delivers through it, so a handler
 * that throws never stops the others. `add` says whether the channel was new (a remote bus then
 * subscribes to it) and its remover whether it was the last one (the bus then leaves it).
 */
export class BusHandlers {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  constructor(private readonly logger: Logger) {}

  add(channel: string, handler: BusHandler): { first: boolean; remove: () => boolean } {
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    const handlers = set;
    return {
      first,
      remove: () => {
        if (!handlers.delete(handler)) {
          return false;
        }
        if (handlers.size === 0 && this.handlers.get(channel) === handlers) {
          this.handlers.delete(channel);
          return true;
        }
        return false;
      },
    };
  }

  has(channel: string): boolean {
    return this.handlers.has(channel);
  }

  count(channel: string): number {
    return this.handlers.get(channel)?.size ?? 0;
  }

  deliver(channel: string, message: unknown): void {
    for (const handler of [...(this.handlers.get(channel) ?? [])]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error(
          `Handler on ${channel} threw: ${(error as Error).message}`,
          (error as Error).stack,
        );
      }
    }
  }
}
