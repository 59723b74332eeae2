// The page on a phone-sized screen (375x700) and with the keyboard alone; every control has an
// accessible name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, connected, shot } from './helpers.js';

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

const PHONE = { width: 375, height: 700 };

/** Nothing sticks out sideways, and the element is inside the viewport. */
async function assertFits(page, selector) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  const box = await page.locator(selector).boundingBox();
  assert.ok(box, `${selector} is not rendered`);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= PHONE.width + 0.5 && box.y + box.height <= PHONE.height + 0.5,
    `${selector} is outside the viewport: ${JSON.stringify(box)}`);
}

test('a narrow phone screen: rooms, then the chat with a back button, all usable', { timeout: 60000 }, async () => {
  const { page, context } = await openPerson(browser, app.url, { viewport: PHONE });
  try {
    await page.getByRole('dialog', { name: 'Welcome to Chat' }).waitFor();
    await assertFits(page, '#welcome');
    await shot(page, 'narrow-welcome');
    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Your name').press('Enter');
    await connected(page);

    // The rooms view first.
    assert.equal(await page.locator('#sidebar').isVisible(), true);
    assert.equal(await page.locator('#chat').isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'Back to the rooms' }).isVisible(), false);
    await assertFits(page, '#create-form');
    await page.getByLabel('New room').fill('Phone room');
    await page.getByRole('button', { name: 'Create' }).click();

    // Then the chat, alone, with a way back.
    await page.locator('#room-title', { hasText: 'Phone room' }).waitFor();
    assert.equal(await page.locator('#sidebar').isVisible(), false);
    await assertFits(page, '#composer');
    await assertFits(page, '#conn');
    await page.getByLabel('Message', { exact: true }).fill('Typing on a small screen works, and long words like Donaudampfschifffahrtsgesellschaftskapitän wrap.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#message-list .msg .text', { hasText: 'small screen works' }).waitFor();
    await assertFits(page, '#message-list .msg .text');
    await assertFits(page, '#room-title');
    await shot(page, 'narrow-chat');

    await page.getByRole('button', { name: 'Back to the rooms' }).click();
    assert.equal(await page.locator('#sidebar').isVisible(), true);
    assert.equal(await page.locator('#chat').isVisible(), false);
    await shot(page, 'narrow-rooms');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});

test('keyboard only: name, create a room, write, and every control is named', { timeout: 60000 }, async () => {
  const { page, context } = await openPerson(browser, app.url);
  try {
    await page.getByLabel('Your name').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'welcome-name', 'the name field has focus');
    await page.keyboard.type('Kay');
    await page.keyboard.press('Enter');
    await connected(page);

    // Tab to the new-room field (bounded), create a room with Enter.
    let found = false;
    for (let i = 0; i < 40 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement?.id === 'create-name');
    }
    assert.ok(found, 'the new-room field is reachable with Tab');
    await page.keyboard.type('Keys');
    await page.keyboard.press('Enter');
    await page.locator('#room-title', { hasText: 'Keys' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'composer-text');
    await page.keyboard.type('sent with Enter');
    await page.keyboard.press('Enter');
    await page.locator('#message-list .msg .text', { hasText: 'sent with Enter' }).waitFor();
    await page.keyboard.press('Shift+Enter');

    const unnamed = await page.evaluate(() => {
      const nameOf = (el) => (el.getAttribute('aria-label')
        || [...(el.labels ?? [])].map((l) => l.textContent).join(' ')
        || el.textContent
        || el.getAttribute('title')
        || '').trim();
      return [...document.querySelectorAll('button, input, textarea, [role="log"], main, nav')]
        .filter((el) => el.closest('[hidden]') === null && !nameOf(el) && !el.getAttribute('aria-labelledby'))
        .map((el) => el.outerHTML.slice(0, 120));
    });
    assert.deepEqual(unnamed, [], 'controls without an accessible name');
    assert.ok(await page.locator('#messages').getAttribute('tabindex'), 'the message list can be scrolled with the keyboard');
    assert.deepEqual(page.errors, []);
  } finally {
    await context.close();
  }
});
