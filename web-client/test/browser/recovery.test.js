// Staying put: a reload brings back the same user in the same room, and a server restart in
// the middle of a conversation (kill, restart on the same port and SQLite file) loses nothing
// and shows every message once, including the ones written while it was down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, connected, shot, shownTexts } from './helpers.js';

let app;
let browser;
before(async () => {
  app = await startApp({ file: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

async function say(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

test('a reload restores the user, the open room and its messages', { timeout: 60000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await p.getByLabel('New room').fill('Reload me');
    await p.getByRole('button', { name: 'Create' }).click();
    await p.locator('#room-title', { hasText: 'Reload me' }).waitFor();
    await say(p, 'still here after a reload?');
    await p.locator('.msg .text', { hasText: 'still here after a reload?' }).waitFor();
    const userId = await p.evaluate(() => window.chat.session.userId);

    await p.reload();
    await connected(p);
    await p.locator('#room-title', { hasText: 'Reload me' }).waitFor();
    await p.locator('.msg .text', { hasText: 'still here after a reload?' }).waitFor();
    assert.equal(await p.evaluate(() => window.chat.session.userId), userId, 'the same guest');
    assert.equal(await p.getByRole('dialog').count(), 0, 'no name asked again');
    assert.equal(await p.locator('.me-name').textContent(), 'Ada');
    assert.deepEqual(p.errors, []);
  } finally {
    await ada.context.close();
  }
});

test('a server restart mid-conversation: offline shown, queued messages delivered, each once', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await ada.page.getByLabel('New room').fill('Restart');
    await ada.page.getByRole('button', { name: 'Create' }).click();
    await ada.page.locator('#room-title', { hasText: 'Restart' }).waitFor();
    await ben.page.getByRole('button', { name: 'Refresh the room list' }).click();
    await ben.page.locator('#room-list button', { hasText: 'Restart' }).click();
    await ben.page.locator('#room-title', { hasText: 'Restart' }).waitFor();
    await connected(ada.page, 'websocket');
    await connected(ben.page, 'websocket');

    await say(ada.page, 'one');
    await say(ben.page, 'two');
    await ada.page.locator('.msg .text', { hasText: /^two$/ }).waitFor();
    await ben.page.locator('.msg .text', { hasText: /^one$/ }).waitFor();

    await app.server.kill();
    for (const p of [ada.page, ben.page]) {
      await p.locator('#conn:is([data-state="offline"], [data-state="reconnecting"])').waitFor();
    }
    await say(ada.page, 'three (written offline)');
    await say(ada.page, 'four (written offline)');
    await say(ben.page, 'five (Ben, offline)');
    await ada.page.locator('#pending-list .msg', { hasText: 'four (written offline)' }).waitFor();
    await ada.page.locator('#pending-list .status', { hasText: 'Waiting for the connection' }).first().waitFor();
    await shot(ada.page, 'offline-queued');

    await app.restart();
    await connected(ada.page);
    await connected(ben.page);
    const all = ['one', 'two', 'three (written offline)', 'four (written offline)', 'five (Ben, offline)'];
    for (const p of [ada.page, ben.page]) {
      await p.locator('#message-list .msg .text', { hasText: 'five (Ben, offline)' }).waitFor();
      await p.locator('#message-list .msg .text', { hasText: 'four (written offline)' }).waitFor();
      await p.locator('#pending-list .msg').first().waitFor({ state: 'detached' });
    }
    await say(ben.page, 'six (after the restart)');
    await ada.page.locator('.msg .text', { hasText: 'six (after the restart)' }).waitFor();
    all.push('six (after the restart)');

    const adaTexts = await shownTexts(ada.page);
    const benTexts = await shownTexts(ben.page);
    for (const texts of [adaTexts, benTexts]) {
      assert.deepEqual([...texts].sort(), [...all].sort(), 'every message exactly once');
      assert.ok(texts.indexOf('three (written offline)') < texts.indexOf('four (written offline)'), 'Ada\'s keep their order');
    }
    assert.deepEqual(benTexts, adaTexts, 'both see the same order');

    // After a reload the server's history says the same.
    await ada.page.reload();
    await connected(ada.page);
    await ada.page.locator('.msg .text', { hasText: 'six (after the restart)' }).waitFor();
    assert.deepEqual(await shownTexts(ada.page), adaTexts);
    await shot(ada.page, 'after-restart');
    assert.deepEqual(ada.page.errors, []);
    assert.deepEqual(ben.page.errors, []);
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});
