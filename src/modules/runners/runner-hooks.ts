import { Injectable } from '@nestjs/common';

import type { RunnerConnection } from 'src/modules/runners/runner-connection';
import {
  FileGetParams,
  FileGetResult,
  HelloParams,
  HelloResult,
  SessionCreateChildParams,
  SessionCreateChildResult,
  SessionEventParams,
  SessionHistoryParams,
  SessionHistoryResult,
  ToolAuthorizeParams,
  ToolAuthorizeResult,
  ToolReviewParams,
  ToolReviewResult,
} from 'src/protocol/runner-protocol';

/** What the sessions feature does with runner traffic (it registers itself at start-up). */
export interface RunnerSessionHandler {
  /** Per-session actions for `runner.hello`; may start follow-up work (session.init) itself. */
  onHello(
    connection: RunnerConnection,
    params: HelloParams,
  ): Promise<Pick<HelloResult, 'sessions' | 'verdicts'>>;
  /** Called once the hello answer is on the wire. */
  afterHello(connection: RunnerConnection): void;
  onSessionEvent(connection: RunnerConnection, params: SessionEventParams): void;
  onToolAuthorize(
    connection: RunnerConnection,
    params: ToolAuthorizeParams,
  ): Promise<ToolAuthorizeResult>;
  onToolReview(connection: RunnerConnection, params: ToolReviewParams): Promise<ToolReviewResult>;
  onSessionHistory(
    connection: RunnerConnection,
    params: SessionHistoryParams,
  ): Promise<SessionHistoryResult>;
  onDisconnect(connection: RunnerConnection): void;
}

/** What the files feature answers to runners (`file.get`). */
export interface RunnerFilesHandler {
  onFileGet(connection: RunnerConnection, params: FileGetParams): Promise<FileGetResult>;
}

/** What the sessions feature answers to `session.create_child` (sub-agent tools). */
export interface RunnerChildSessionsHandler {
  onCreateChild(
    connection: RunnerConnection,
    params: SessionCreateChildParams,
  ): Promise<SessionCreateChildResult>;
}

/** What the terminals feature does with `terminal.*` notifications and disconnects. */
export interface RunnerTerminalsHandler {
  onNotification(connection: RunnerConnection, method: string, params: unknown): void;
  onDisconnect(connection: RunnerConnection): void;
}

/**
 * The runners feature owns the channel; the sessions feature owns what the messages mean. This
 * registry keeps the dependency one-way (sessions → runners), as style rule 20 asks.
 */
@Injectable()
export class RunnerHooks {
  private handler?: RunnerSessionHandler;
  private filesHandler?: RunnerFilesHandler;
  private childrenHandler?: RunnerChildSessionsHandler;
  /** Optional: without it, terminal traffic is dropped. */
  terminals?: RunnerTerminalsHandler;

  register(handler: RunnerSessionHandler): void {
    this.handler = handler;
  }

  registerFiles(handler: RunnerFilesHandler): void {
    this.filesHandler = handler;
  }

  registerChildren(handler: RunnerChildSessionsHandler): void {
    this.childrenHandler = handler;
  }

  registerTerminals(handler: RunnerTerminalsHandler): void {
    this.terminals = handler;
  }

  get files(): RunnerFilesHandler {
    if (!this.filesHandler) {
      throw new Error('No runner files handler registered');
    }
    return this.filesHandler;
  }

  get children(): RunnerChildSessionsHandler {
    if (!this.childrenHandler) {
      throw new Error('No runner child sessions handler registered');
    }
    return this.childrenHandler;
  }

  get session(): RunnerSessionHandler {
    if (!this.handler) {
      throw new Error('No runner session handler registered');
    }
    return this.handler;
  }
}
