import { Injectable } from '@nestjs/common';

import type { RunnerExitedParams } from 'src/protocol/host-protocol';

/** What the sessions feature does with host traffic (it registers itself at start-up). */
export interface HostSessionHandler {
  /** Of the runners a host still supervises, those bound to one of its sessions (the rest are orphans). */
  boundRunners(hostId: string, runnerIds: string[]): Promise<string[]>;
  /** A runner process of this host exited. */
  onRunnerExited(hostId: string, ownerId: string, params: RunnerExitedParams): Promise<void>;
}

/**
 * The hosts feature owns the channel; the sessions feature owns what runner exits mean. This
 * registry keeps the dependency one-way (sessions → hosts), as style rule 20 asks.
 */
@Injectable()
export class HostHooks {
  private handler?: HostSessionHandler;

  register(handler: HostSessionHandler): void {
    this.handler = handler;
  }

  get session(): HostSessionHandler | undefined {
    return this.handler;
  }
}
