import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { spawnCli } from 'test/utils/processes';

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('start-up failures: one line, quickly, no stack', () => {
  // Loading the CLI alone takes seconds on a loaded machine: the 10 s budget is on top of it.
  let cliStartMs = 0;
  beforeAll(async () => {
    const started = Date.now();
    const version = spawnCli(['--version']);
    await version.exited;
    cliStartMs = Date.now() - started;
  });

  it.each([
    ['a refused connection', 'postgres://postgres@127.0.0.1:1/omnigent', '127.0.0.1:1'],
    ['an unroutable host', 'postgres://postgres@10.255.255.1:5432/omnigent', '10.255.255.1:5432'],
  ])('should fail within 10 s on %s, naming DATABASE_URL and the host', async (_, url, host) => {
    const started = Date.now();
    const server = spawnCli(['serve'], {
      DATABASE_URL: url,
      OMNIGENT_PORT: '0',
      OMNIGENT_LOCAL_RUNNER: '0',
    });
    expect(await server.exited).toBe(1);
    expect(Date.now() - started - cliStartMs).toBeLessThan(10_000);
    const output = lines(server.output());
    expect(output).toHaveLength(1);
    expect(output[0]).toContain('DATABASE_URL');
    expect(output[0]).toContain(host);
    expect(output[0]).not.toMatch(/^\s+at /m);
  });

  it('should say the port is taken in one line', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const server = spawnCli(['serve'], {
        DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
        OMNIGENT_DB_MIGRATE: 'false',
        OMNIGENT_PORT: String(port),
        OMNIGENT_LOCAL_RUNNER: '0',
        OMNIGENT_LOG_LEVEL: 'warn',
      });
      expect(await server.exited).toBe(1);
      const output = lines(server.output());
      expect(output).toEqual([
        `omnigent serve: Cannot listen on 127.0.0.1:${port} (OMNIGENT_HOST/OMNIGENT_PORT): the port is already in use`,
      ]);
    } finally {
      blocker.close();
    }
  });
});

describe('a warm start (issue 12)', () => {
  const dist = join(__dirname, '..', '..', 'dist');
  let dir: string;
  let probe: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'omnigent-startup-'));
    probe = join(dir, 'probe.js');
    // Preloaded into the server: at each request, writes the modules it has loaded and its
    // compile cache's counters (first.json at the first request, last.json at each), and at
    // exit the modules it has loaded (exit-<command>.json).
    writeFileSync(
      probe,
      `const fs = require('node:fs');
const http = require('node:http');
const emit = http.Server.prototype.emit;
let first = true;
http.Server.prototype.emit = function (event) {
  if (event === 'request') {
    const cache = require(${JSON.stringify(join(dist, 'src', 'cli', 'compile-cache.js'))});
    const state = JSON.stringify({
      modules: Object.keys(require.cache),
      stats: cache.installedCompileCache()?.stats ?? null,
    });
    fs.writeFileSync(${JSON.stringify(join(dir, 'last.json'))}, state);
    if (first) {
      first = false;
      fs.writeFileSync(${JSON.stringify(join(dir, 'first.json'))}, state);
    }
  }
  return emit.apply(this, arguments);
};
process.on('exit', () => {
  fs.writeFileSync(
    require('node:path').join(${JSON.stringify(dir)}, 'exit-' + process.argv[2] + '.json'),
    JSON.stringify(Object.keys(require.cache)),
  );
});
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface Loaded {
    modules: string[];
    stats: Record<string, number> | null;
  }

  /** A warm start; `then` runs against it once /health has answered. */
  async function start(
    cache: string,
    env: Record<string, string> = {},
    then: (url: string) => Promise<void> = async () => undefined,
  ): Promise<{ first: Loaded; last: Loaded }> {
    rmSync(join(dir, 'first.json'), { force: true });
    const server = spawnCli(['serve'], {
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_PORT: '0',
      OMNIGENT_LOCAL_RUNNER: '0',
      OMNIGENT_LOG_FORMAT: 'json',
      OMNIGENT_COMPILE_CACHE: join(dir, cache),
      NODE_OPTIONS: `--require ${probe}`,
      REDIS_URL: undefined,
      OMNIGENT_BUS: undefined,
      OMNIGENT_JWKS_URL: undefined,
      OMNIGENT_BUNDLE: undefined,
      ...env,
    });
    try {
      const [, url] = await server.waitForOutput(/Listening on (http:\/\/[0-9.:[\]]+)/, 60_000);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      await then(url);
      // The cache is written once no module has compiled for a second.
      for (let i = 0; i < 100 && !existsSync(join(dir, cache)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Loaded;
      return { first: read('first.json'), last: read('last.json') };
    } finally {
      await server.stop();
    }
  }

  const packagesOf = (modules: string[]) =>
    new Set(
      modules
        .map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1])
        .filter((name) => name !== undefined),
    );

  it('should run dist/omnigent.cjs: the server from one file, even after /ready and /docs', async () => {
    const { first, last } = await start('bundle-cache', {}, async (url) => {
      expect((await fetch(`${url}/ready`)).status).toBe(200);
      expect((await fetch(`${url}/docs/swagger-ui.css`)).status).toBe(200);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    });
    for (const { modules } of [first, last]) {
      expect(modules).toContain(join(dist, 'omnigent.cjs'));
      // Only bin/omnigent.js's own helpers from dist/src.
      expect(modules.filter((file) => file.startsWith(join(dist, 'src')))).toEqual([
        join(dist, 'src', 'cli', 'module-paths.js'),
        join(dist, 'src', 'cli', 'compile-cache.js'),
      ]);
      // No second copy of a bundled package (TypeORM's `pg`, Terminus's @nestjs/typeorm): only
      // what stays outside the bundle, swagger-ui's assets.
      expect([...packagesOf(modules)]).toEqual(['swagger-ui-dist']);
    }
    // The opt-in code cache covers the bundle (one module, with its lazily compiled functions).
    expect(first.stats).toMatchObject({ hits: 0, passed: 0 });
    const second = await start('bundle-cache');
    expect(second.first.stats).toMatchObject({ misses: 0, rejected: 0, passed: 0 });
    expect(second.first.stats?.hits).toBeGreaterThanOrEqual(1);
  });

  it('should load only what the configuration uses, and compile from the cache the second time (OMNIGENT_BUNDLE=0)', async () => {
    const unbundled = { OMNIGENT_BUNDLE: '0' };
    const { first } = await start('cache', unbundled);
    expect(first.modules).not.toContain(join(dist, 'omnigent.cjs'));
    const packages = packagesOf(first.modules);
    expect(packages).toContain('pg');
    // Redis bus, JWKS, pretty logs, policy schemas, bundles: none configured or used yet.
    for (const unused of ['ioredis', 'jose', 'pino-pretty', 'ajv', 'tar-stream']) {
      expect(packages).not.toContain(unused);
    }
    expect(first.stats).toMatchObject({ hits: 0 });
    expect(first.stats?.misses).toBeGreaterThan(500);
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.endsWith('.bin'))).toHaveLength(1);

    const second = (await start('cache', unbundled)).first;
    expect(second.stats?.hits).toBeGreaterThan(500);
    expect(second.stats?.misses).toBeLessThan((second.stats?.hits ?? 0) / 10);
  });

  /** The modules a CLI process had loaded when it exited. */
  const loadedAtExit = (command: string) =>
    JSON.parse(readFileSync(join(dir, `exit-${command}.json`), 'utf8')) as string[];

  it.each([
    [['sync-openapi', '--check'], /openapi\.json is up to date/],
    [['migrate'], /Database is up to date/],
  ])('should run `omnigent %s` from the bundle', async (args, says) => {
    const cli = spawnCli(args, {
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_LOG_FORMAT: 'json',
      NODE_OPTIONS: `--require ${probe}`,
      OMNIGENT_BUNDLE: undefined,
    });
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toMatch(says);
    const modules = loadedAtExit(args[0]);
    expect(modules).toContain(join(dist, 'omnigent.cjs'));
    expect(modules.filter((file) => file.startsWith(join(dist, 'src')))).toHaveLength(2);
  });

  it('should run a runner and a chat from the bundle with OMNIGENT_BUNDLE=1 (dist/src by default)', async () => {
    const server = spawnCli(['serve'], {
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_PORT: '0',
      OMNIGENT_LOCAL_RUNNER: '0',
      OMNIGENT_BUNDLE: undefined,
    });
    const bundled = { NODE_OPTIONS: `--require ${probe}`, OMNIGENT_BUNDLE: '1' };
    try {
      const [, url] = await server.waitForOutput(/Listening on (http:\/\/[0-9.:[\]]+)/, 60_000);
      const runner = spawnCli(['runner', '--server', url], bundled);
      try {
        await runner.waitForOutput(/connected to/, 60_000);
        const chat = spawnCli(['chat', '--server', url, 'hello from the bundle'], bundled);
        expect(await chat.exited).toBe(0);
        expect(chat.output()).toContain('hello from the bundle');
        expect(loadedAtExit('chat')).toContain(join(dist, 'omnigent.cjs'));
      } finally {
        await runner.stop();
      }
      expect(loadedAtExit('runner')).toContain(join(dist, 'omnigent.cjs'));

      const unbundled = spawnCli(['--version'], { NODE_OPTIONS: `--require ${probe}` });
      expect(await unbundled.exited).toBe(0);
      expect(loadedAtExit('--version')).not.toContain(join(dist, 'omnigent.cjs'));
    } finally {
      await server.stop();
    }
  });
});
