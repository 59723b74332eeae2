// The assistant's controls in the page: Regenerate (a new reply, the old one kept), Continue on
// a stopped reply, "ask again" after editing a message it answered, and the room's bot settings
// with one's usage. The model is the stand-in on 127.0.0.1. These need the server side of
// issue 14 (`bot:settings`, `bot:regenerate`, `bot:continue`, `bot:usage`, `replyTo`);
// against a server without it they skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot, say } from './helpers.js';
import { supports } from '../helpers/server.js';
import { guest, closeAll } from '../helpers/clients.js';

let app;
let browser;
let ready = false;
before(async () => {
  if (!supports('--llm-base-url')) return;
  app = await startApp();
  browser = await launch();
  const probe = await guest(app.url, 'Probe');
  try {
    const room = await probe.openBotRoom();
    await probe.call('bot:settings', { room: room.id }, { timeout: 2000 });
    ready = true;
  } catch {
    ready = false;
  }
});
after(async () => {
  closeAll();
  await browser?.close();
  await app?.stop();
});

async function botRoom(page) {
  await page.getByRole('button', { name: 'Ask the assistant' }).click();
  await page.locator('#room-title', { hasText: 'Assistant' }).waitFor();
}

test('regenerate, continue, edit and ask again', { timeout: 90000 }, async (t) => {
  if (!ready) return t.skip('this server has no bot:settings / bot:regenerate yet');
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await botRoom(p);
    await say(p, 'hello there');
    const first = p.locator('.msg.bot').first();
    await first.locator('.text', { hasText: 'word40.' }).waitFor();
    await first.hover();
    await first.getByRole('button', { name: 'Regenerate this reply' }).click();
    await p.locator('.msg.bot').nth(1).locator('.text', { hasText: 'word40.' }).waitFor();
    assert.equal(await p.locator('.msg.bot').count(), 2, 'both replies are kept');

    await say(p, 'a long one please');
    await p.locator('.msg.bot.streaming').waitFor();
    await p.getByRole('button', { name: 'Stop' }).click();
    const stopped = p.locator('.msg.bot', { has: p.locator('.note', { hasText: 'Stopped' }) });
    await stopped.waitFor();
    await stopped.hover();
    await stopped.getByRole('button', { name: 'Continue this reply' }).click();
    await p.locator('.msg.bot').nth(3).waitFor();
    // The continuation of a long reply is long too: stop it, or the next request waits behind it.
    if (await p.locator('.msg.bot.streaming').count()) await p.getByRole('button', { name: 'Stop' }).click();
    await p.locator('.msg.bot.streaming').waitFor({ state: 'detached' });

    const mine = p.locator('.msg.mine', { hasText: 'hello there' });
    await mine.hover();
    await mine.getByRole('button', { name: 'Edit your message' }).click();
    await p.getByRole('textbox', { name: 'Edit your message' }).fill('hello again, edited');
    await p.getByRole('textbox', { name: 'Edit your message' }).press('Enter');
    const before = await p.locator('.msg.bot').count();
    await p.getByRole('button', { name: 'Ask again with the new text' }).click();
    await p.waitForFunction((n) => document.querySelectorAll('.msg.bot').length > n, before);
    await shot(p, 'bot-regenerate');
  } finally {
    await ada.context.close();
  }
});

test('bot settings: read, saved by the creator, with usage', { timeout: 60000 }, async (t) => {
  if (!ready) return t.skip('this server has no bot:settings yet');
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await botRoom(p);
    await say(p, 'hi');
    await p.locator('.msg.bot .text', { hasText: 'word40.' }).waitFor();
    await p.getByRole('button', { name: 'Bot', exact: true }).click();
    await p.getByLabel('Persona (system prompt)').fill('You are a terse pirate.');
    await p.getByLabel('Temperature (empty: the model\'s default)').fill('0.3');
    await p.locator('#bot-usage', { hasText: 'today' }).waitFor();
    await shot(p, 'bot-settings');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.locator('#bot-dialog').waitFor({ state: 'hidden' });
    const saved = await p.evaluate(() => window.chat.botSettings(document.querySelector('#room-list .current').dataset.room));
    assert.equal(saved.systemPrompt, 'You are a terse pirate.');
    assert.equal(saved.temperature, 0.3);
  } finally {
    await ada.context.close();
  }
});
