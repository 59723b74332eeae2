// Mentions in the page: a message that names us is marked, and a room we are not reading shows
// how many messages name us (`@N`) beside its unread count, live and after a reload; reading
// the room clears it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot, createRoom, openRoom, say } from './helpers.js';

let app;
let browser;
before(async () => {
  app = await startApp();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

test('a room that names us shows @N until we read it, across a reload', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Design review');
    await openRoom(ben.page, 'Design review');
    await openRoom(ben.page, 'General');

    await say(ada.page, '@Ben can you review the header?');
    await say(ada.page, 'and the footer, whoever has time');
    await say(ada.page, '@ben also the colours');
    const room = ben.page.locator('#room-list button', { hasText: 'Design review' });
    await room.locator('.mention-badge', { hasText: '@2' }).waitFor();
    assert.match(await room.getAttribute('aria-label'), /3 unread, 2 mentions of you/);
    await shot(ben.page, 'mention-badge');

    // The count comes from the server too: a reload shows it again.
    await ben.page.reload();
    await ben.page.locator('#room-list button', { hasText: 'Design review' })
      .locator('.mention-badge', { hasText: '@2' }).waitFor();

    await ben.page.locator('#room-list button', { hasText: 'Design review' }).click();
    const marked = ben.page.locator('.msg.mentions-me');
    await marked.nth(1).waitFor();
    assert.equal(await marked.count(), 2, 'the two messages that name Ben are marked');
    // Once Ben's read mark is stored (Ada sees his receipt), the server counts none either.
    await ada.page.locator('.msg .reads', { hasText: 'Ben' }).waitFor();
    await shot(ben.page, 'mentions-in-room');
    await openRoom(ben.page, 'General');
    await ben.page.locator('#room-list button', { hasText: 'Design review' }).locator('.mention-badge').waitFor({ state: 'detached' });
    assert.deepEqual([...ada.page.errors, ...ben.page.errors], []);
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});
