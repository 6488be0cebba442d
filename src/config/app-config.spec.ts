import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ConfigError, getConfig } from 'src/config/app-config';
import { configProblems } from 'test/utils/config-problems';

const SECRET = 'x'.repeat(32);

describe(getConfig.name, () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'omnigent-config-'));
  });

  describe('defaults', () => {
    it('should bind loopback on port 6767 without auth', () => {
      const config = getConfig({ OMNIGENT_DATA_DIR: dataDir });
      expect(config.http).toEqual({
        host: '127.0.0.1',
        port: 6767,
        bodyLimit: 1024 * 1024,
        jsonMaxDepth: 64,
        allowedHosts: [],
        fastReads: true,
      });
      expect(config.auth).toMatchObject({
        mode: 'none',
        allowRemoteNoAuth: false,
        jwksAlgorithms: ['RS256', 'ES256'],
        clockSkewS: 30,
        adminClaim: 'roles',
        adminValue: 'admin',
        admins: [],
      });
      expect(config.auth.jwtSecret).toBeUndefined();
      expect(config.auth.issuer).toBeUndefined();
      expect(config.auth.audience).toBeUndefined();
      expect(config.logLevel).toBe('log');
    });

    it('should use the embedded database under the given data dir', () => {
      const config = getConfig({ OMNIGENT_DATA_DIR: dataDir });
      expect(config.database).toEqual({
        url: undefined,
        embedded: true,
        dataDir: resolve(dataDir),
        migrate: true,
        poolSize: 10,
        preparedStatements: true,
      });
    });

    it('should run hot reads unprepared when OMNIGENT_DB_PREPARED_STATEMENTS is false', () => {
      expect(
        getConfig({ OMNIGENT_DB_PREPARED_STATEMENTS: 'false' }).database.preparedStatements,
      ).toBe(false);
    });

    it('should put the data dir under the home directory when none is given', () => {
      expect(getConfig({}).database.dataDir).toBe(join(homedir(), '.omnigent'));
    });

    it('should resolve a relative data dir to an absolute path', () => {
      expect(getConfig({ OMNIGENT_DATA_DIR: 'rel/data' }).database.dataDir).toBe(
        resolve('rel/data'),
      );
    });

    it('should ignore variables that are not ours', () => {
      expect(() => getConfig({ OMNIGENT_DATA_DIR: dataDir, PORT: 'abc', HOME: '' })).not.toThrow();
    });

    it('should treat blank optional variables as unset', () => {
      const config = getConfig({ OMNIGENT_DATA_DIR: dataDir, DATABASE_URL: '  ', REDIS_URL: '' });
      expect(config.database.embedded).toBe(true);
      expect(config.bus.redisUrl).toBeUndefined();
    });
  });

  describe('validation', () => {
    it('should list every bad variable at once in one ConfigError', () => {
      const problems = configProblems({
        OMNIGENT_PORT: 'abc',
        OMNIGENT_AUTH: 'basic',
        DATABASE_URL: 'mysql://db/x',
        OMNIGENT_JWT_CLOCK_SKEW_S: '90',
        OMNIGENT_DB_MIGRATE: 'maybe',
        OMNIGENT_LOG_LEVEL: 'loud',
        REDIS_URL: 'http://cache',
        OMNIGENT_JWT_ALGORITHMS: 'HS256',
      });
      const joined = problems.join('\n');
      for (const variable of [
        'OMNIGENT_PORT',
        'OMNIGENT_AUTH',
        'DATABASE_URL',
        'OMNIGENT_JWT_CLOCK_SKEW_S',
        'OMNIGENT_DB_MIGRATE',
        'OMNIGENT_LOG_LEVEL',
        'REDIS_URL',
        'OMNIGENT_JWT_ALGORITHMS',
      ]) {
        expect(joined).toContain(variable);
      }
      expect(problems.length).toBeGreaterThanOrEqual(8);
    });

    it('should bound OMNIGENT_JSON_MAX_DEPTH to 8–512', () => {
      expect(getConfig({ OMNIGENT_JSON_MAX_DEPTH: '128' }).http.jsonMaxDepth).toBe(128);
      for (const bad of ['7', '513', 'deep']) {
        expect(configProblems({ OMNIGENT_JSON_MAX_DEPTH: bad }).join('\n')).toContain(
          'OMNIGENT_JSON_MAX_DEPTH',
        );
      }
    });

    it('should default the quotas generously and take positive integers only', () => {
      expect(getConfig({}).quotas).toEqual({
        sessionsPerUser: 100_000,
        itemsPerSession: 100_000,
        runnersPerUser: 50,
        streamsPerUser: 20_000,
      });
      expect(getConfig({ OMNIGENT_QUOTA_STREAMS_PER_USER: '3' }).quotas.streamsPerUser).toBe(3);
      for (const bad of ['0', '-1', 'many']) {
        expect(configProblems({ OMNIGENT_QUOTA_RUNNERS_PER_USER: bad }).join('\n')).toContain(
          'OMNIGENT_QUOTA_RUNNERS_PER_USER',
        );
      }
    });

    it('should say every problem in the error message', () => {
      let caught: unknown;
      try {
        getConfig({ OMNIGENT_PORT: '70000', OMNIGENT_AUTH: 'basic' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      const { message, problems } = caught as ConfigError;
      expect(message).toMatch(/^Invalid configuration:/);
      for (const problem of problems) {
        expect(message).toContain(problem);
      }
    });

    it('should require a secret in jwt mode without a JWKS URL', () => {
      const problems = configProblems({ OMNIGENT_AUTH: 'jwt' });
      expect(problems).toContain(
        'OMNIGENT_JWT_SECRET is required when OMNIGENT_AUTH=jwt and no JWKS URL is set',
      );
      expect(problems.every((p) => p.startsWith('OMNIGENT_JWT_SECRET'))).toBe(true);
    });

    it('should reject a short secret together with the other problems', () => {
      const problems = configProblems({
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWT_SECRET: 'short',
        OMNIGENT_PORT: '-1',
        OMNIGENT_JWT_CLOCK_SKEW_S: '90',
        DATABASE_URL: 'not a url',
      });
      expect(problems).toEqual(
        expect.arrayContaining([
          'OMNIGENT_JWT_SECRET must be at least 32 characters',
          expect.stringContaining('OMNIGENT_PORT'),
          expect.stringContaining('OMNIGENT_JWT_CLOCK_SKEW_S'),
          'DATABASE_URL must be a postgres:// URL',
        ]),
      );
      expect(problems).toHaveLength(4);
    });

    it('should accept jwt mode with only a JWKS URL', () => {
      const config = getConfig({
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
        OMNIGENT_JWT_ALGORITHMS: 'ES256,PS256',
      });
      expect(config.auth.jwksUrl).toBe('https://idp.example/.well-known/jwks.json');
      expect(config.auth.jwksAlgorithms).toEqual(['ES256', 'PS256']);
      expect(config.auth.jwtSecret).toBeUndefined();
    });

    // Regression: the length rule once sat behind the presence rule's @ValidateIf.
    it('should reject a short secret even when a JWKS URL is set', () => {
      expect(
        configProblems({
          OMNIGENT_AUTH: 'jwt',
          OMNIGENT_JWKS_URL: 'https://idp.example/jwks.json',
          OMNIGENT_JWT_SECRET: 'short',
        }),
      ).toEqual(['OMNIGENT_JWT_SECRET must be at least 32 characters']);
    });

    it('should reject a JWKS URL that is not a URL', () => {
      expect(
        configProblems({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWKS_URL: 'idp.example/jwks' }),
      ).toEqual([expect.stringContaining('OMNIGENT_JWKS_URL')]);
    });

    it('should accept a clock skew of at most 60 seconds', () => {
      expect(getConfig({ OMNIGENT_JWT_CLOCK_SKEW_S: '60' }).auth.clockSkewS).toBe(60);
      expect(configProblems({ OMNIGENT_JWT_CLOCK_SKEW_S: '61' })).toHaveLength(1);
    });

    it('should reject a non-integer port and a port out of range', () => {
      for (const port of ['80.5', '65536', 'abc']) {
        const problems = configProblems({ OMNIGENT_PORT: port });
        expect(problems.length).toBeGreaterThan(0);
        expect(problems.every((p) => p.startsWith('OMNIGENT_PORT'))).toBe(true);
      }
      expect(getConfig({ OMNIGENT_PORT: ' 8080 ' }).http.port).toBe(8080);
    });
  });

  describe('booleans', () => {
    it.each(['1', 'true', 'yes', 'on', 'TRUE', ' Yes '])('should read %p as true', (value) => {
      const config = getConfig({ OMNIGENT_DB_MIGRATE: value, OMNIGENT_ALLOW_REMOTE_NOAUTH: value });
      expect(config.database.migrate).toBe(true);
      expect(config.auth.allowRemoteNoAuth).toBe(true);
    });

    it.each(['0', 'false', 'no', 'off', 'False'])('should read %p as false', (value) => {
      const config = getConfig({
        OMNIGENT_DB_MIGRATE: value,
        OMNIGENT_ALLOW_REMOTE_NOAUTH: value,
        OMNIGENT_HTTP_FAST_READS: value,
      });
      expect(config.database.migrate).toBe(false);
      expect(config.auth.allowRemoteNoAuth).toBe(false);
      expect(config.http.fastReads).toBe(false);
    });

    it('should reject anything else', () => {
      expect(configProblems({ OMNIGENT_DB_MIGRATE: 'maybe' })).toEqual([
        expect.stringContaining('OMNIGENT_DB_MIGRATE'),
      ]);
    });
  });

  describe('lists', () => {
    it('should split comma lists, trimming blanks', () => {
      const config = getConfig({
        OMNIGENT_ADMINS: ' alice, bob ,,carol@example.com ',
        OMNIGENT_ALLOWED_HOSTS: 'omnigent.lan,box.local',
      });
      expect(config.auth.admins).toEqual(['alice', 'bob', 'carol@example.com']);
      expect(config.http.allowedHosts).toEqual(['omnigent.lan', 'box.local']);
    });

    it('should read an empty list as no entries', () => {
      expect(getConfig({ OMNIGENT_ADMINS: '' }).auth.admins).toEqual([]);
    });
  });

  describe('database', () => {
    it('should switch the embedded database off when DATABASE_URL is set', () => {
      const url = 'postgresql://user:pw@127.0.0.1:5432/omnigent';
      const config = getConfig({
        DATABASE_URL: url,
        OMNIGENT_DATA_DIR: dataDir,
        OMNIGENT_DB_POOL_SIZE: '25',
      });
      expect(config.database).toMatchObject({ url, embedded: false, poolSize: 25 });
    });

    it('should accept the postgres:// scheme too', () => {
      expect(getConfig({ DATABASE_URL: 'postgres://db/x' }).database.embedded).toBe(false);
    });
  });

  describe('bus', () => {
    it('should pick Redis when REDIS_URL is set, else PostgreSQL', () => {
      expect(getConfig({ OMNIGENT_DATA_DIR: dataDir }).bus).toEqual({
        kind: 'postgres',
        redisUrl: undefined,
      });
      expect(getConfig({ OMNIGENT_DATA_DIR: dataDir, REDIS_URL: 'redis://r:6379' }).bus).toEqual({
        kind: 'redis',
        redisUrl: 'redis://r:6379',
      });
    });

    it('should honour an explicit OMNIGENT_BUS', () => {
      const env = { OMNIGENT_DATA_DIR: dataDir, REDIS_URL: 'redis://r:6379' };
      expect(getConfig({ ...env, OMNIGENT_BUS: 'memory' }).bus.kind).toBe('memory');
      expect(getConfig({ ...env, OMNIGENT_BUS: 'postgres' }).bus.kind).toBe('postgres');
    });

    it('should refuse OMNIGENT_BUS=redis without REDIS_URL, and unknown buses', () => {
      expect(() => getConfig({ OMNIGENT_BUS: 'redis' })).toThrow(
        /OMNIGENT_BUS=redis needs REDIS_URL/,
      );
      expect(() => getConfig({ OMNIGENT_BUS: 'kafka' })).toThrow(/OMNIGENT_BUS/);
    });
  });

  describe('auth', () => {
    it('should carry the jwt settings through', () => {
      const config = getConfig({
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWT_SECRET: SECRET,
        OMNIGENT_JWT_ISSUER: 'https://issuer.example',
        OMNIGENT_JWT_AUDIENCE: 'omnigent',
        OMNIGENT_JWT_CLOCK_SKEW_S: '0',
        OMNIGENT_ADMIN_CLAIM: 'realm_access.roles',
        OMNIGENT_ADMIN_VALUE: 'omnigent-admin',
      });
      expect(config.auth).toMatchObject({
        mode: 'jwt',
        jwtSecret: SECRET,
        issuer: 'https://issuer.example',
        audience: 'omnigent',
        clockSkewS: 0,
        adminClaim: 'realm_access.roles',
        adminValue: 'omnigent-admin',
      });
    });

    it('should reject an unknown local runner switch', () => {
      expect(configProblems({ OMNIGENT_LOCAL_RUNNER: 'yes' })).toEqual([
        expect.stringContaining('OMNIGENT_LOCAL_RUNNER'),
      ]);
    });
  });

  describe('runners', () => {
    it("should give the local runner what it needs and none of the server's secrets", () => {
      const config = getConfig({
        OMNIGENT_DATA_DIR: dataDir,
        OMNIGENT_AUTH: 'jwt',
        OMNIGENT_JWT_SECRET: SECRET,
        OMNIGENT_LOCAL_RUNNER_ENV: 'ANTHROPIC_API_KEY, OMNIGENT_JWT_SECRET, DATABASE_URL',
        DATABASE_URL: 'postgres://u:p@db/omnigent',
        REDIS_URL: 'redis://r',
        PATH: '/usr/bin',
        HOME: '/home/omnigent',
        OPENAI_API_KEY: 'sk-1',
        ANTHROPIC_API_KEY: 'sk-2',
        AWS_SECRET_ACCESS_KEY: 'aws',
      });

      expect(config.runners.localEnv).toEqual({
        PATH: '/usr/bin',
        HOME: '/home/omnigent',
        OPENAI_API_KEY: 'sk-1',
        ANTHROPIC_API_KEY: 'sk-2',
      });
    });

    it("should protect the data directory and the listed paths from the local runner's tools", () => {
      expect(
        getConfig({
          OMNIGENT_DATA_DIR: dataDir,
          OMNIGENT_LOCAL_RUNNER_PROTECTED_PATHS: '/etc/omnigent.env, /srv/keys',
        }).runners.localProtectedPaths,
      ).toEqual([resolve(dataDir), '/etc/omnigent.env', '/srv/keys']);
      expect(configProblems({ OMNIGENT_LOCAL_RUNNER_PROTECTED_PATHS: 'relative/path' })).toEqual([
        expect.stringContaining('absolute paths'),
      ]);
    });
  });

  describe('file storage', () => {
    it('should default to the local disk and need a bucket for s3', () => {
      expect(getConfig({ OMNIGENT_DATA_DIR: dataDir }).files.storage).toBe('local');
      expect(configProblems({ OMNIGENT_DATA_DIR: dataDir, OMNIGENT_FILES_STORAGE: 's3' })).toEqual([
        expect.stringContaining('OMNIGENT_FILES_S3_BUCKET is required'),
      ]);
      expect(
        configProblems({ OMNIGENT_DATA_DIR: dataDir, OMNIGENT_FILES_STORAGE: 'ftp' }).join(' '),
      ).toContain('OMNIGENT_FILES_STORAGE');
      const s3 = getConfig({
        OMNIGENT_DATA_DIR: dataDir,
        OMNIGENT_FILES_STORAGE: 's3',
        OMNIGENT_FILES_S3_BUCKET: 'b',
        OMNIGENT_FILES_S3_ENDPOINT: 'http://127.0.0.1:9000',
        OMNIGENT_FILES_S3_FORCE_PATH_STYLE: 'true',
      }).files;
      expect(s3).toMatchObject({
        storage: 's3',
        s3: {
          bucket: 'b',
          prefix: '',
          endpoint: 'http://127.0.0.1:9000',
          region: 'us-east-1',
          forcePathStyle: true,
        },
      });
    });
  });
});
