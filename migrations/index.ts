import { CreateUsers1764300000000 } from 'migrations/1764300000000-CreateUsers';
import { CreateAgentsAndSessions1764300000001 } from 'migrations/1764300000001-CreateAgentsAndSessions';
import { CreateRunnerDirectory1764300000002 } from 'migrations/1764300000002-CreateRunnerDirectory';
import { CreateSessionFiles1796222746836 } from 'migrations/1796222746836-CreateSessionFiles';

/** Every migration, in order. Listed explicitly so the same set runs from src/ (Jest) and dist/. */
export const MIGRATIONS = [
  CreateUsers1764300000000,
  CreateAgentsAndSessions1764300000001,
  CreateRunnerDirectory1764300000002,
  CreateSessionFiles1796222746836,
];
