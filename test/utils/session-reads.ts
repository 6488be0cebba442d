import type { AppConfig } from 'src/config/app-config';
import { SessionAccessService } from 'src/modules/sessions/session-access.service';
import { SessionReadsRepository } from 'src/modules/sessions/session-reads.repository';
import { SessionReadsService } from 'src/modules/sessions/session-reads.service';
import { SessionsService } from 'src/modules/sessions/sessions.service';
import { TurnPolicyHooks } from 'src/modules/sessions/turns/turn-policy.hooks';
import type { TestApp } from 'test/e2e/create-app';

/**
 * A SessionReadsService over the test app's own providers with another config (no cache, a
 * cache of its own, another liveness TTL): what the app's service answers is checked against it.
 */
export function sessionReadsWith(t: TestApp, config: AppConfig): SessionReadsService {
  return new SessionReadsService(
    config,
    t.app.get(SessionAccessService),
    t.app.get(TurnPolicyHooks),
    t.app.get(SessionReadsRepository),
    t.app.get(SessionsService),
  );
}
