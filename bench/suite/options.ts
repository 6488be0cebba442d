/** The command line of `npm run bench` (`bench/suite.bench.ts`) and the sizes it implies. */
import { READ_CONNECTIONS } from 'bench/read-ratios';

const args = process.argv.slice(3);

export const QUICK = args.includes('--quick');
export const EMBEDDED = args.includes('--embedded');
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
export const LOAD_MS = QUICK ? 3_000 : 10_000;
export const CONNECTIONS = READ_CONNECTIONS;
export const HEARTBEAT_MS = 1_000;
export const FANOUT_DELTAS = QUICK ? 100 : 300;
export const TURN_SESSIONS = 50;
export const IDLE_STREAMS = QUICK ? 1_000 : 10_000;
export const PROFILE_DIR = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : null;

/** Whether `--only` (when given) names this scenario family. */
export const wanted = (name: string) => !ONLY || ONLY.includes(name);
