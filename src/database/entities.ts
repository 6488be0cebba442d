import { UserEntity } from 'src/common/auth/user.entity';

/** Every entity, for the app and the TypeORM CLI alike. */
export const ENTITIES = [UserEntity];
