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
    // Preloaded into the server: at its first request, writes the modules it has loaded and its
    // compile cache's counters.
    writeFileSync(
      probe,
      `const fs = require('node:fs');
const http = require('node:http');
const emit = http.Server.prototype.emit;
let done = false;
http.Server.prototype.emit = function (event) {
  if (event === 'request' && !done) {
    done = true;
    const cache = require(${JSON.stringify(join(dist, 'src', 'cli', 'compile-cache.js'))});
    fs.writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify({
      modules: Object.keys(require.cache),
      stats: cache.installedCompileCache()?.stats ?? null,
    }));
  }
  return emit.apply(this, arguments);
};
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function start(): Promise<{ modules: string[]; stats: Record<string, number> | null }> {
    rmSync(join(dir, 'loaded.json'), { force: true });
    const server = spawnCli(['serve'], {
      DATABASE_URL: process.env.OMNIGENT_TEST_DATABASE_URL,
      OMNIGENT_DB_MIGRATE: 'false',
      OMNIGENT_PORT: '0',
      OMNIGENT_LOCAL_RUNNER: '0',
      OMNIGENT_LOG_FORMAT: 'json',
      OMNIGENT_COMPILE_CACHE: join(dir, 'cache'),
      NODE_OPTIONS: `--require ${probe}`,
      REDIS_URL: undefined,
      OMNIGENT_BUS: undefined,
      OMNIGENT_JWKS_URL: undefined,
    });
    try {
      const [, url] = await server.waitForOutput(/Listening on (http:\/\/[0-9.:[\]]+)/, 60_000);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      // The cache is written once no module has compiled for a second.
      for (let i = 0; i < 100 && !existsSync(join(dir, 'cache')); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      return JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as {
        modules: string[];
        stats: Record<string, number> | null;
      };
    } finally {
      await server.stop();
    }
  }

  it('should load only what the configuration uses, and compile from the cache the second time', async () => {
    const first = await start();
    const packages = new Set(
      first.modules.map((file) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1]),
    );
    expect(packages).toContain('pg');
    // Redis bus, JWKS, pretty logs, policy schemas, bundles: none configured or used yet.
    for (const unused of ['ioredis', 'jose', 'pino-pretty', 'ajv', 'tar-stream']) {
      expect(packages).not.toContain(unused);
    }
    expect(first.stats).toMatchObject({ hits: 0 });
    expect(first.stats?.misses).toBeGreaterThan(500);
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.endsWith('.bin'))).toHaveLength(1);

    const second = await start();
    expect(second.stats?.hits).toBeGreaterThan(500);
    expect(second.stats?.misses).toBeLessThan((second.stats?.hits ?? 0) / 10);
  });
});
