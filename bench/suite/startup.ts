/** Start-up: our first and warm start against the raw server's (spawn → listening). */
import { EMBEDDED, wanted } from 'bench/suite/options';
import { Suite } from 'bench/suite/setup';
import { record } from 'bench/suite/table';

export function startup({ first, ours: warm, raw }: Suite): void {
  if (wanted('startup')) {
    record(
      {
        scenario: 'start-up, first',
        metric: 'ms to /health',
        ours: first.startMs,
        raw: raw.startMs,
        detail: EMBEDDED ? 'initdb + migrations' : 'migrations on an empty database',
      },
      false,
    );
    record(
      {
        scenario: 'start-up, warm',
        metric: 'ms to /health',
        ours: warm.startMs,
        raw: raw.startMs,
        detail: 'raw = node:http spawn → listening',
      },
      false,
    );
  }
}
