import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { OmnigentClient } from '@omnigent-server/client';
import jwt from 'jsonwebtoken';
import { Browser, chromium, ConsoleMessage, Page } from 'playwright-core';

import { ServerProcess, startServer } from 'test/utils/processes';
import { startTcpProxy, TcpProxy } from 'test/utils/tcp-proxy';

/**
 * The web console in a real browser (Debian's Chromium driven by playwright-core) against a real
 * server (`dist/`: run `npm run build` first) and its local runner. `.ci/run` installs Chromium;
 * without it this file is skipped with a message. `CONSOLE_SCREENSHOTS=1` also writes
 * docs/console/*.png.
 */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS === '1';
const SHOTS_DIR = join(__dirname, '..', '..', 'docs', 'console');
const JWT_SECRET = 'console-e2e-secret-'.padEnd(40, 'x');

if (!HAVE_CHROMIUM) {
  console.warn(
    `console e2e skipped: ${CHROMIUM} is missing (apt-get install chromium; .ci/run does it)`,
  );
}

const describeBrowser = HAVE_CHROMIUM ? describe : describe.skip;
jest.setTimeout(60_000);

function launchBrowser(): Promise<Browser> {
  // launch() gives every browser a fresh temporary profile (its own --user-data-dir).
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Console messages and page errors: a CSP violation or a crash shows up here. */
function watchProblems(page: Page): string[] {
  // A step that hangs fails with the locator it waited for, before Jest's own timeout.
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error' && !/status of 40[14]/.test(message.text())) {
      problems.push(message.text());
    }
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS) {
    mkdirSync(SHOTS_DIR, { recursive: true });
    await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
  }
}

/** Waits until the sessions list shows exactly `count` rows. */
async function waitForRows(page: Page, count: number): Promise<void> {
  // No waitForFunction: evaluating a string in the page is what the console's CSP forbids.
  const rows = page.locator('.rows .row');
  await rows.nth(count - 1).waitFor({ state: 'attached' });
  await rows.nth(count).waitFor({ state: 'detached' });
}

async function newSession(client: OmnigentClient, runnerId: string): Promise<string> {
  const agent = await client.agents.getByName('echo');
  const session = await client.sessions.create({ agent_id: agent.id, title: 'Console test' });
  await client.sessions.update(session.id, { runner_id: runnerId });
  return session.id;
}

describeBrowser('web console (browser)', () => {
  let server: ServerProcess;
  let proxy: TcpProxy;
  let browser: Browser;
  let runnerId: string;
  let client: OmnigentClient;

  /** A session's page, once its stream is live. */
  async function openSession(base: string, sessionId: string) {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${base}/ui/sessions/${sessionId}`);
    await page.getByText('stream live').waitFor();
    return { page, problems };
  }

  beforeAll(async () => {
    server = await startServer({ OMNIGENT_LOCAL_RUNNER: 'auto' });
    const match = await server.waitForOutput(
      /\[LocalRunner\].*Runner (runner_token_\w+) connected/,
    );
    runnerId = match[1];
    proxy = await startTcpProxy(server.url);
    browser = await launchBrowser();
    client = new OmnigentClient({ baseUrl: server.url });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.stop();
  });

  it('should serve /ui with a strict CSP, immutable assets and the SPA fallback', async () => {
    const index = await fetch(`${server.url}/ui/sessions/conv_x`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${server.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${server.url}/ui/assets/missing-1234.js`)).status).toBe(404);
    // The API and /docs keep their own behaviour.
    expect((await fetch(`${server.url}/docs`)).status).toBe(200);
  });

  it('should create an echo session, send a message and show the streamed reply', async () => {
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}/ui/`);
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.getByLabel('Agent', { exact: true }).selectOption({ label: 'echo' });
    await page.getByLabel('Runner').selectOption(runnerId);
    await page.getByLabel('Title (optional)').fill('Browser hello');
    await page.getByRole('button', { name: 'Create session' }).click();
    await page.waitForURL(/\/ui\/sessions\/conv_[0-9a-f]{32}$/);
    await page.getByText('stream live').waitFor();

    await page.getByLabel('Message').fill('hello from the browser');
    await page.getByLabel('Message').press('Enter');
    const reply = page.locator('.entry.assistant:not(.live) .text');
    await reply.waitFor();
    expect(await reply.textContent()).toBe('hello from the browser');
    expect(await page.locator('.entry.user .text').textContent()).toBe('hello from the browser');
    await page.locator('.status.idle').first().waitFor();
    await screenshot(page, 'session');

    // A phone-sized screen: one column, nothing wider than the viewport.
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'session-narrow');
    await page.setViewportSize({ width: 1280, height: 720 });

    // The list finds it by its title.
    await page.getByRole('link', { name: 'Sessions' }).first().click();
    await page.getByRole('searchbox', { name: 'Search' }).fill('Browser hello');
    await page.getByRole('link', { name: 'Browser hello' }).waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('should run a tool call approved from the page and complete the turn', async () => {
    const sessionId = await newSession(client, runnerId);
    await client.call(
      client.raw.POST('/v1/sessions/{session_id}/policies', {
        params: { path: { session_id: sessionId } },
        body: {
          name: 'ask_before_os_tools',
          type: 'python',
          handler: 'omnigent.policies.builtins.safety.ask_on_os_tools',
        },
      }),
    );
    const { page, problems } = await openSession(server.url, sessionId);
    await page.getByLabel('Message').fill('/tool list_dir {"path": "."}');
    await page.getByRole('button', { name: 'Send' }).click();

    const accept = page.getByRole('button', { name: /^Accept/ });
    await accept.waitFor();
    await screenshot(page, 'approval');
    // A page opened later still shows it (the snapshot's pending_elicitations).
    await page.reload();
    await page.getByText('stream live').waitFor();
    await accept.waitFor();
    await accept.click();
    await page.locator('.entry.tool .output').waitFor();
    await page.locator('.entry.assistant:not(.live)').waitFor();
    await page.locator('.status.idle').first().waitFor();
    expect(await page.locator('.entry.tool code').first().textContent()).toBe('list_dir');
    expect(await page.getByRole('button', { name: /^Accept/ }).count()).toBe(0);
    const items = await client.sessions.items(sessionId, { limit: 100 });
    expect(items.data.map((item) => item.type)).toEqual(
      expect.arrayContaining(['function_call', 'function_call_output']),
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('should resume a dropped stream without losing text', async () => {
    const sessionId = await newSession(client, runnerId);
    const { page } = await openSession(proxy.url, sessionId);
    await page.getByLabel('Message').fill('/sleep 2500');
    await page.getByLabel('Message').press('Enter');
    // Deltas are arriving: cut every connection of the page, as a network drop would.
    await page.locator('.entry.live').waitFor();
    proxy.cut();
    await page.locator('.entry.assistant:not(.live)').waitFor({ timeout: 20_000 });
    await page.locator('.status.idle').first().waitFor();
    const replies = await page.locator('.entry.assistant .text').allTextContents();
    expect(replies).toEqual(['Slept 2500 ms.']);
    expect(await page.locator('.entry.user .text').allTextContents()).toEqual(['/sleep 2500']);
    await page.getByText('stream live').waitFor();
    await page.close();
  });

  it('should interrupt a running turn from the page', async () => {
    const sessionId = await newSession(client, runnerId);
    const { page, problems } = await openSession(server.url, sessionId);
    await page.getByLabel('Message').fill('/sleep 20000');
    await page.getByLabel('Message').press('Enter');
    await page.locator('.entry.live').waitFor();
    await page.getByRole('button', { name: 'Interrupt' }).click();
    await page.getByText(/^Stopped: /).waitFor();
    await page.locator('.status.idle').first().waitFor();
    expect(await page.getByRole('button', { name: 'Interrupt' }).isDisabled()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('should upload a file from the page and download it again', async () => {
    const sessionId = await newSession(client, runnerId);
    const { page, problems } = await openSession(server.url, sessionId);
    await page.getByLabel('Upload a file').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('console upload\n'),
    });
    await page.getByText('Uploaded notes.txt.').waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download notes.txt' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('notes.txt');
    const path = await download.path();
    expect(readFileSync(path, 'utf8')).toBe('console upload\n');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('should page, filter by agent and hide archived sessions in the list', async () => {
    const tag = `pager${Date.now()}`;
    const echo = await client.agents.getByName('echo');
    const ids: string[] = [];
    for (let i = 0; i < 22; i += 1) {
      ids.push((await client.sessions.create({ agent_id: echo.id, title: `${tag} ${i}` })).id);
    }
    await client.sessions.update(ids[0], { archived: true });
    const page = await browser.newPage();
    const problems = watchProblems(page);
    await page.goto(`${server.url}/ui/`);
    await waitForRows(page, 20);
    await screenshot(page, 'sessions');
    await page.getByRole('searchbox', { name: 'Search' }).fill(tag);
    const rows = page.getByRole('list', { name: 'Sessions' }).getByRole('link');
    await page.getByText('Page 1').waitFor();
    await waitForRows(page, 20);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2').waitFor();
    // 21 live sessions match: the archived one is hidden.
    await waitForRows(page, 1);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1').waitFor();

    await page.getByLabel('Show archived').check();
    await page.getByText('Page 1').waitFor();
    await page.getByRole('button', { name: 'Next page' }).click();
    await waitForRows(page, 2);
    expect(await rows.allTextContents()).toContain(`${tag} 0`);

    // No session of another agent carries the tag, so filtering by one empties the list.
    const other = (await client.agents.list()).find((agent) => agent.name !== 'echo');
    if (other) {
      await page.getByLabel('Agent filter').selectOption(other.id);
      await page.getByText(/No sessions match/).waitFor();
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('should list runners and hosts', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/ui/runners`);
    const row = page.getByRole('row', { name: new RegExp(runnerId) });
    await row.waitFor();
    expect(await row.textContent()).toContain('online');
    await screenshot(page, 'runners');
    await page.close();
  });
});

describeBrowser('web console sign-in (jwt mode)', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer({ OMNIGENT_AUTH: 'jwt', OMNIGENT_JWT_SECRET: JWT_SECRET });
    browser = await launchBrowser();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('should say 401 for a bad token, then sign in and keep the token out of the URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/ui/`);
    const field = page.getByLabel('Token');
    await field.waitFor();
    await field.fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('401');
    await screenshot(page, 'sign-in');

    const token = jwt.sign({ sub: 'console-user' }, JWT_SECRET, {
      algorithm: 'HS256',
      expiresIn: 600,
    });
    await field.fill(token);
    await field.press('Enter'); // the keyboard is enough
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.getByRole('button', { name: 'Create session' }).waitFor();
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toContain(token);
    expect(await page.evaluate<string[]>('Object.values(localStorage)')).not.toContain(token);
    // A reload keeps the tab signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Sessions' }).waitFor();
    await page.close();
  });
});
