import net from 'node:net';

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
