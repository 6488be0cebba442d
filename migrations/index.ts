import { CreateUsers1764300000000 } from 'migrations/1764300000000-CreateUsers';
import { CreateAgentsAndSessions1764300000001 } from 'migrations/1764300000001-CreateAgentsAndSessions';
import { CreateRunnerDirectory1764300000002 } from 'migrations/1764300000002-CreateRunnerDirectory';
import { CreateIdempotencyKeys1796226207533 } from 'migrations/1796226207533-CreateIdempotencyKeys';

/** Every migration, in order. Listed explicitly so the same set runs from src/ (Jest) and dist/. */
export const MIGRATIONS = [
  CreateUsers1764300000000,
  CreateAgentsAndSessions1764300000001,
  CreateRunnerDirectory1764300000002,
  CreateIdempotencyKeys1796226207533,
];
