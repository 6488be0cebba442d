import { UserEntity } from 'src/common/auth/user.entity';
import { SessionFileEntity } from 'src/modules/files/session-file.entity';
import { AgentEntity } from 'src/modules/registry/agent.entity';
import { RunnerConnectionEntity } from 'src/modules/runners/runner-connection.entity';
import { RunnerLaunchEntity } from 'src/modules/runners/runner-launch.entity';
import { ItemEntity } from 'src/modules/sessions/item.entity';
import { SessionEntity } from 'src/modules/sessions/session.entity';
import { SessionEventEntity } from 'src/modules/sessions/stream/session-event.entity';

/** Every entity, for the app and the TypeORM CLI alike. */
export const ENTITIES = [
  AgentEntity,
  ItemEntity,
  RunnerConnectionEntity,
  RunnerLaunchEntity,
  SessionEntity,
  SessionEventEntity,
  SessionFileEntity,
  UserEntity,
];
