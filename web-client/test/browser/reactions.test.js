// Reactions in the page: React opens the emoji, a pick shows a chip with its count and who
// reacted on both sides, the chip toggles ours off again; all of it by keyboard too. Also the
// private bot room's header, which says which bot answers (session.bot). These need the server
// side of issue 14 (the `react` event, `session.bot`); against a server without it they skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot, createRoom, openRoom, say } from './helpers.js';
import { guest, closeAll } from '../helpers/clients.js';

let app;
let browser;
/** @type {{ react: boolean, sessionBot: boolean }} */
const has = { react: false, sessionBot: false };
before(async () => {
  app = await startApp();
  browser = await launch();
  // Ask the server what it offers: an unknown event gets no answer at all.
  const probe = await guest(app.url, 'Probe');
  has.sessionBot = !!probe.session?.bot;
  try {
    await probe.call('react', { room: 'none', id: 'none', emoji: '👍', on: true }, { timeout: 2000 });
    has.react = true;
  } catch (err) {
    has.react = err.code !== 'timeout' && err.code !== 'offline';
  }
  closeAll();
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

test('a reaction shows on both sides with who reacted, and toggles off', { timeout: 60000 }, async (t) => {
  if (!has.react) return t.skip('this server has no `react` event yet');
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Reactions');
    await openRoom(ben.page, 'Reactions');
    await say(ada.page, 'shipped the release');
    const onBen = ben.page.locator('.msg', { hasText: 'shipped the release' });
    await onBen.waitFor();

    // Ben reacts with the keyboard: focus React, Enter, the first emoji has focus, Enter.
    await onBen.getByRole('button', { name: 'React to this message' }).focus();
    await ben.page.keyboard.press('Enter');
    await ben.page.getByRole('button', { name: 'React with 🎉' }).click();
    const chip = onBen.locator('.reaction', { hasText: '🎉' });
    await chip.filter({ hasText: '1' }).waitFor();
    assert.equal(await chip.getAttribute('aria-pressed'), 'true');

    const onAda = ada.page.locator('.msg', { hasText: 'shipped the release' });
    const adaChip = onAda.locator('.reaction', { hasText: '🎉' });
    await adaChip.filter({ hasText: '1' }).waitFor();
    assert.match(await adaChip.getAttribute('title'), /Ben/);
    assert.equal(await adaChip.getAttribute('aria-pressed'), 'false');
    await adaChip.click();
    await adaChip.filter({ hasText: '2' }).waitFor();
    await chip.filter({ hasText: '2' }).waitFor();
    assert.match(await chip.getAttribute('title'), /Ada/);
    await shot(ben.page, 'reactions');

    await chip.click();
    // Each page learns of the toggle from its own socket: wait for both before reading Ben's.
    await adaChip.filter({ hasText: '1' }).waitFor();
    await chip.filter({ hasText: '1' }).waitFor();
    assert.equal(await chip.getAttribute('aria-pressed'), 'false');
    assert.deepEqual([...ada.page.errors, ...ben.page.errors], []);
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('the private bot room says which bot answers and how to connect a model', { timeout: 60000 }, async (t) => {
  if (!has.sessionBot) return t.skip('this server sends no `session.bot` yet');
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    await ada.page.getByRole('button', { name: 'Ask the assistant' }).click();
    await ada.page.locator('#room-title', { hasText: 'Assistant' }).waitFor();
    const kind = await ada.page.evaluate(() => window.chat.session.bot.kind);
    const line = ada.page.locator('#room-online');
    if (kind === 'embedded') await line.filter({ hasText: '--llm-base-url' }).waitFor();
    else await line.filter({ hasText: 'Answers with' }).waitFor();
  } finally {
    await ada.context.close();
  }
});
