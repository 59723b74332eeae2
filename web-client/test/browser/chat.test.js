// Two people in two browser contexts: they chat, see each other typing and online, see how far
// the other has read, get unread counts for other rooms, and page through history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot, shownTexts, createRoom, openRoom, say } from './helpers.js';
import { guest, closeAll } from '../helpers/clients.js';

let app;
let browser;
before(async () => {
  app = await startApp();
  browser = await launch();
});
after(async () => {
  closeAll();
  await browser?.close();
  await app?.stop();
});

test('two people chat: messages, typing, presence, read marks and unread counts', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Design review');
    await openRoom(ben.page, 'Design review');
    await ada.page.locator('#room-online', { hasText: 'Ben and you' }).waitFor();
    await ben.page.locator('#room-online', { hasText: 'Ada and you' }).waitFor();

    await say(ada.page, 'Morning! The new layout is on staging.');
    await ben.page.locator('.msg .text', { hasText: 'The new layout is on staging' }).waitFor();
    await say(ben.page, 'Looks great, the sidebar feels lighter.');
    await ada.page.locator('.msg .text', { hasText: 'the sidebar feels lighter' }).waitFor();
    await say(ada.page, 'Can we make the unread badges a bit bolder?');
    await ben.page.locator('.msg .text', { hasText: 'unread badges' }).waitFor();

    // Ben has read everything: Ada sees it under her last message.
    await ada.page.locator('#msg-3 .reads', { hasText: 'Read by Ben' }).waitFor();

    // Typing shows on the other side, and goes away when the message arrives.
    await ben.page.getByLabel('Message', { exact: true }).pressSequentially('Sure');
    await ada.page.locator('#typing', { hasText: 'Ben is typing…' }).waitFor();
    await shot(ada.page, 'chat-wide');
    await ben.page.getByLabel('Message', { exact: true }).press('Enter');
    await ada.page.locator('.msg .text', { hasText: /^Sure$/ }).waitFor();
    await ada.page.locator('#typing', { hasText: 'typing' }).waitFor({ state: 'detached' });

    const texts = await shownTexts(ada.page);
    assert.deepEqual(texts, [
      'Morning! The new layout is on staging.',
      'Looks great, the sidebar feels lighter.',
      'Can we make the unread badges a bit bolder?',
      'Sure',
    ]);
    assert.deepEqual(await shownTexts(ben.page), texts);

    // Unread: Ben writes in another room Ada belongs to while she looks at this one.
    await createRoom(ben.page, 'Random');
    await openRoom(ada.page, 'Random');
    await ada.page.locator('#room-list button', { hasText: 'Design review' }).click();
    await ada.page.locator('#room-title', { hasText: 'Design review' }).waitFor();
    await say(ben.page, 'lunch?');
    await say(ben.page, 'anyone?');
    const random = ada.page.locator('#room-list button', { hasText: 'Random' });
    await random.locator('.badge', { hasText: '2' }).waitFor();
    assert.match(await random.getAttribute('aria-label'), /2 unread/);
    await shot(ada.page, 'unread');
    await random.click();
    await ada.page.locator('.msg .text', { hasText: 'anyone?' }).waitFor();
    await random.locator('.badge').waitFor({ state: 'detached' });
    // Ben sees Ada's read mark move.
    await ben.page.locator('.reads', { hasText: 'Read by Ada' }).waitFor();

    // The picture for the README: back in the first room, Ben typing, one unread elsewhere.
    await ada.page.locator('#room-list button', { hasText: 'Design review' }).click();
    await ada.page.locator('#room-title', { hasText: 'Design review' }).waitFor();
    await say(ben.page, 'I will bring the sketches.');
    await random.locator('.badge', { hasText: '1' }).waitFor();
    await ben.page.locator('#room-list button', { hasText: 'Design review' }).click();
    await ben.page.locator('#room-title', { hasText: 'Design review' }).waitFor();
    await ada.page.locator('#msg-4 .reads', { hasText: 'Read by Ben' }).waitFor();
    await ben.page.getByLabel('Message', { exact: true }).pressSequentially('Bolder badges');
    await ada.page.locator('#typing', { hasText: 'Ben is typing…' }).waitFor();
    await shot(ada.page, 'showcase');

    assert.deepEqual(ada.page.errors, []);
    assert.deepEqual(ben.page.errors, []);
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('history pages in as the reader scrolls up, each message once, in order', { timeout: 90000 }, async () => {
  const seeder = await guest(app.url, 'Archivist');
  const room = await seeder.createRoom('Archive');
  for (let i = 1; i <= 120; i++) await seeder.send(room.id, `seed ${i}`);

  const cy = await openPerson(browser, app.url, { name: 'Cy' });
  try {
    await openRoom(cy.page, 'Archive');
    const messages = cy.page.locator('#message-list .msg');
    await cy.page.locator('.msg .text', { hasText: 'seed 120' }).waitFor();
    assert.equal(await messages.count(), 50);
    await cy.page.getByRole('button', { name: 'Load earlier messages' }).waitFor();

    await cy.page.locator('#messages').evaluate((el) => {
      el.scrollTop = 0;
    });
    await cy.page.locator('.msg .text', { hasText: /^seed 70$/ }).waitFor();
    await cy.page.waitForFunction(() => document.querySelectorAll('#message-list .msg').length === 100);
    // The page kept its place: the message that was on top is still in view.
    const kept = await cy.page.locator('#msg-71').boundingBox();
    assert.ok(kept && kept.y > 0, 'the older page was added above without a jump');

    // Keyboard: the button loads the rest.
    await cy.page.getByRole('button', { name: 'Load earlier messages' }).focus();
    await cy.page.keyboard.press('Enter');
    await cy.page.getByText('This is the start of the room.').waitFor();
    const texts = await shownTexts(cy.page);
    assert.deepEqual(texts, Array.from({ length: 120 }, (_, i) => `seed ${i + 1}`));
    await shot(cy.page, 'history-start');
    assert.deepEqual(cy.page.errors, []);
  } finally {
    await cy.context.close();
  }
});
