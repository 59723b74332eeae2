// The package's real page (@socket.io/admin-ui 0.5.1's ui/dist, served at /admin-ui/) in Debian's
// Chromium: it logs in, shows our sockets, rooms and the server's stats, and its Disconnect
// button disconnects a chat client. Requests leaving 127.0.0.1 (the page's web fonts and icons)
// are refused, so the test stays on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { clientPool } from '../support/clients.js';
import { connectUser, ok, unique } from '../support/chat.js';
import { waitFor } from '../support/wait.js';
import { ADMIN_PASSWORD, ADMIN_USER, UI_DIR, adminServer } from '../support/admin.js';

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const pool = clientPool();
let server;
let browser;

before(async () => {
  assert.ok(existsSync(UI_DIR), `${UI_DIR} is missing: run \`npm ci\` in web-client/`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_BIN)`);
  server = await adminServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
});
after(async () => {
  pool.closeAll();
  await browser?.close();
  await server?.stop();
});

test('the UI logs in, shows our sockets, rooms and stats, and disconnects a chat client', async () => {
  const ann = await connectUser(pool, server.url, { name: 'Ann' });
  const room = (await ok(ann, 'create', { name: unique('ui') })).id;
  const annId = ann.id; // socket.io-client forgets it on disconnect
  const bob = await connectUser(pool, server.url, { name: 'Bob' });

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(15000);
  await context.route('**/*', (route) => (route.request().url().startsWith(server.url) ? route.continue() : route.abort()));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  await page.goto(`${server.url}/admin-ui/`);

  await page.getByLabel('Server URL').fill(server.url);
  await page.getByLabel('Username').fill(ADMIN_USER);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByLabel('Server URL').waitFor({ state: 'hidden' });

  await page.goto(`${server.url}/admin-ui/#/sockets/`);
  const row = page.locator('tr', { hasText: annId });
  await row.waitFor();
  assert.match(await row.innerText(), /127\.0\.0\.1/);

  await page.goto(`${server.url}/admin-ui/#/rooms/`);
  await page.getByText(`r:${room}`).waitFor();
  await page.getByText(`u:${ann.session.userId}`).waitFor();

  await page.goto(`${server.url}/admin-ui/#/servers/`);
  const serverRow = page.locator('tr', { hasText: String(server.proc.pid) });
  await serverRow.waitFor();
  assert.match(await serverRow.innerText(), /local/);

  await page.goto(`${server.url}/admin-ui/#/sockets/`);
  const gone = waitFor(ann, 'disconnect', { timeout: 15000 });
  await page.locator('tr', { hasText: annId }).first().locator('button:has(.mdi-logout)').click();
  assert.equal(await gone, 'io server disconnect');
  // The UI was told: the socket is off its list (the click also opened the socket's page,
  // which now says it is disconnected).
  await page.getByText('disconnected', { exact: false }).first().waitFor();
  await page.goto(`${server.url}/admin-ui/#/sockets/`);
  await page.locator('tr', { hasText: bob.id }).waitFor();
  await page.waitForFunction((id) => ![...document.querySelectorAll('tr')].some((tr) => tr.textContent.includes(id)), annId);

  assert.deepEqual(errors.map(String), []);
  await context.close();
});
