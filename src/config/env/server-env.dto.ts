import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

import { blankToUndefined, toBool, toInt } from 'src/config/env/env-coercion.util';

/** Where the server listens and where its data lives: the HTTP bind address and the database. */
export class ServerEnvDto {
  /** Interface to bind. Loopback by default; `none` auth refuses anything else unless allowed. */
  @IsString()
  OMNIGENT_HOST = '127.0.0.1';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  OMNIGENT_PORT = 6767;

  /** PostgreSQL connection string. Unset: embedded PostgreSQL, started under the data dir. */
  @Transform(blankToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** Where local data lives: the embedded database, runner workspaces. Default ~/.omnigent. */
  @Transform(blankToUndefined)
  @IsOptional()
  @IsString()
  OMNIGENT_DATA_DIR?: string;

  /** Run pending migrations at start-up. */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_DB_MIGRATE = true;

  /** Connection pool size (the embedded database uses the same pool). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  OMNIGENT_DB_POOL_SIZE = 10;

  /**
   * Hot reads and the turns' units of work run as named prepared statements (planned once per
   * connection). Turn off behind a pooler that cannot keep them (PgBouncer in transaction mode
   * before 1.21): units then send their transaction and write as one query, values inlined.
   */
  @Transform(toBool)
  @IsBoolean()
  OMNIGENT_DB_PREPARED_STATEMENTS = true;
}
