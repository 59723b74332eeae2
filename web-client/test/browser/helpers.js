// Browser tests' fixtures: Debian's Chromium driven by playwright-core (no downloaded browser),
// the real server serving the built page, screenshots in test/artifacts/.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, supports, distDir, webClientRoot, CALM } from '../helpers/server.js';
import { startFakeLlm } from '../helpers/fake-llm.js';
import { startDevServer } from '../../scripts/serve.js';
import { build } from '../../scripts/build.js';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const artifacts = path.join(webClientRoot, 'test', 'artifacts');

/** Build dist/ unless it is there. */
export async function ensureBuilt() {
  if (!existsSync(path.join(distDir, 'index.html')) || !existsSync(path.join(distDir, 'app.js'))) await build();
}

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_BIN)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30000 });
}

/**
 * The server with the page (and a stand-in model for the bot). With `file`, a SQLite file that
 * a restart on the same port keeps. Resolves with { url, server, llm, restart(), stop() }.
 */
export async function startApp({ file = false } = {}) {
  await ensureBuilt();
  const llm = supports('--llm-base-url') ? await startFakeLlm({ interval: 25, words: 40, longWords: 800 }) : null;
  const args = [...CALM, '--typing-timeout-ms', '5000'];
  if (llm) args.push('--llm-base-url', llm.url);
  const staticDir = supports('--static-dir');
  if (staticDir) args.push('--static-dir', distDir);
  const app = { llm, server: null, proxy: null, url: '' };
  app.server = await startServer({ file, args });
  if (staticDir) {
    app.url = app.server.url;
  } else {
    // An older server: serve dist/ ourselves and forward /socket.io/ to it.
    app.proxy = await startDevServer({ root: distDir, target: app.server.url });
    app.url = app.proxy.url;
  }
  app.restart = async () => {
    app.server = await app.server.restart();
    return app.server;
  };
  app.stop = async () => {
    await app.proxy?.close();
    await app.server?.kill();
    await llm?.close();
  };
  return app;
}

/**
 * A new browser context (its own storage: another person) with the page open.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {{ name?: string, viewport?: { width: number, height: number } }} [opts]
 */
export async function openPerson(browser, url, { name, viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(err));
  await page.goto(url);
  if (name) {
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Start chatting' }).click();
    await connected(page);
  }
  return { context, page };
}

/** Wait until the page says it is connected. */
export async function connected(page, transport) {
  const text = transport === 'websocket' ? 'Connected · WebSocket' : 'Connected';
  await page.locator('#conn[data-state="connected"]', { hasText: text }).waitFor();
}

/** A screenshot in test/artifacts/. */
export async function shot(page, name) {
  await mkdir(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** The texts of the messages shown in the open room, in order. */
export function shownTexts(page) {
  return page.locator('#message-list .msg .text').allTextContents();
}

/** Create a room from the sidebar; it opens. */
export async function createRoom(page, name) {
  await page.getByLabel('New room').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.locator('#room-title', { hasText: name }).waitFor();
}

/** Open a room from the (refreshed) sidebar. */
export async function openRoom(page, name) {
  await page.getByRole('button', { name: 'Refresh the room list' }).click();
  await page.locator('#room-list button', { hasText: name }).click();
  await page.locator('#room-title', { hasText: name }).waitFor();
}

/** Send a message from the message box. */
export async function say(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}
