import { CreateUsers1764300000000 } from 'migrations/1764300000000-CreateUsers';
import { CreateAgentsAndSessions1764300000001 } from 'migrations/1764300000001-CreateAgentsAndSessions';
import { CreateRunnerDirectory1764300000002 } from 'migrations/1764300000002-CreateRunnerDirectory';
import { CreateHosts1796222710891 } from 'migrations/1796222710891-CreateHosts';
import { CreateSessionFiles1796222746836 } from 'migrations/1796222746836-CreateSessionFiles';
import { CreatePoliciesAndElicitations1796223270206 } from 'migrations/1796223270206-CreatePoliciesAndElicitations';
import { AddRunnerAdmittedAt1796223394741 } from 'migrations/1796223394741-AddRunnerAdmittedAt';
import { CreateAgentBundles1796224066343 } from 'migrations/1796224066343-CreateAgentBundles';
import { MoveAgentBundles1796224066344 } from 'migrations/1796224066344-MoveAgentBundles';
import { CreateTurnTerminals1796225164577 } from 'migrations/1796225164577-CreateTurnTerminals';
import { CreateIdempotencyKeys1796226207533 } from 'migrations/1796226207533-CreateIdempotencyKeys';
import { CreateResponses1796228400000 } from 'migrations/1796228400000-CreateResponses';
import { CreateBusOverflow1796270830986 } from 'migrations/1796270830986-CreateBusOverflow';
import { AddPolicyLabels1796282076460 } from 'migrations/1796282076460-AddPolicyLabels';
import { AddSessionUsageTotals1796282664316 } from 'migrations/1796282664316-AddSessionUsageTotals';

/** Every migration, in order. Listed explicitly so the same set runs from src/ (Jest) and dist/. */
export const MIGRATIONS = [
  CreateUsers1764300000000,
  CreateAgentsAndSessions1764300000001,
  CreateRunnerDirectory1764300000002,
  CreateHosts1796222710891,
  CreateSessionFiles1796222746836,
  CreatePoliciesAndElicitations1796223270206,
  AddRunnerAdmittedAt1796223394741,
  CreateAgentBundles1796224066343,
  MoveAgentBundles1796224066344,
  CreateTurnTerminals1796225164577,
  CreateIdempotencyKeys1796226207533,
  CreateResponses1796228400000,
  CreateBusOverflow1796270830986,
  AddPolicyLabels1796282076460,
  AddSessionUsageTotals1796282664316,
];
