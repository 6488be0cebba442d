/** The command line of `npm run bench` (`bench/suite.bench.ts`) and the sizes it implies. */
const args = process.argv.slice(3);

export const QUICK = args.includes('--quick');
export const EMBEDDED = args.includes('--embedded');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
export const LOAD_MS = QUICK ? 3_000 : 10_000;
export const CONNECTIONS = 10;
/**
 * Load on every read path, both servers, before the first read is measured. Our server's cost
 * per request fell by about a third between its first and its next 6 s of load (snapshot
 * 0.63–0.67 → 0.43–0.45 ms, items 0.51 → 0.31 ms: JIT, heap sizing); raw, a few lines, warms
 * far sooner. A short warm-up set our cold start against raw's steady state.
 */
export const READS_WARM_MS = 3_000;
export const HEARTBEAT_MS = 1_000;
export const FANOUT_DELTAS = QUICK ? 100 : 300;
export const TURN_SESSIONS = 50;
export const IDLE_STREAMS = QUICK ? 1_000 : 10_000;
export const PROFILE_DIR = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : null;

/** Whether `--only` (when given) names this scenario family. */
export const wanted = (name: string) => !ONLY || ONLY.includes(name);
