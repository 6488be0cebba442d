import { UserEntity } from 'src/common/auth/user.entity';
import { IdempotencyKeyEntity } from 'src/common/idempotency/idempotency-key.entity';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';
import { HostEntity } from 'src/modules/hosts/host.entity';
import { ElicitationEntity } from 'src/modules/policies/elicitation.entity';
import { PolicyEntity } from 'src/modules/policies/policy.entity';
import { AgentBundleEntity } from 'src/modules/registry/agent-bundle.entity';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { ResponseEntity } from 'src/modules/responses/response.entity';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';

/** Every entity, for the app and the TypeORM CLI alike. */
export const ENTITIES = [
  AgentBundleEntity,
  AgentEntity,
  ElicitationEntity,
  HostEntity,
  IdempotencyKeyEntity,
  ItemEntity,
  PolicyEntity,
  ResponseEntity,
  RunnerConnectionEntity,
  RunnerLaunchEntity,
  SessionEntity,
  SessionEventEntity,
  SessionFileEntity,
  UserEntity,
];
