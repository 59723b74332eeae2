// What a message looks like and how people act on it: markdown (and hostile markdown that must
// stay inert), code blocks with Copy, receipts that name people and survive a streaming reply,
// hover actions that cover nothing and are reachable by keyboard, the "new messages" divider,
// "jump to latest", and a presence line that fits a phone header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot, createRoom, openRoom, say } from './helpers.js';
import { supports } from '../helpers/server.js';

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

/** Whether two boxes overlap. */
const overlap = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

test('markdown renders, hostile markdown stays inert, code blocks copy', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  await ben.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
  try {
    await createRoom(ada.page, 'Markdown');
    await openRoom(ben.page, 'Markdown');
    await say(ada.page, '**Ship it** on _Friday_, see `make release` and [the notes](https://example.com/notes)\n- first\n- second');
    const msg = ben.page.locator('.msg', { hasText: 'Ship it' });
    await msg.waitFor();
    assert.equal(await msg.locator('strong').textContent(), 'Ship it');
    assert.equal(await msg.locator('em').textContent(), 'Friday');
    assert.equal(await msg.locator('code').textContent(), 'make release');
    assert.equal(await msg.locator('li').count(), 2);
    const link = msg.getByRole('link', { name: 'the notes' });
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.match(await link.getAttribute('rel'), /noopener/);

    // Hostile messages: none of it runs, styles, loads or navigates; typed HTML shows as text.
    await ben.page.evaluate(() => { window.pwned = 0; });
    const hostile = [
      '<script>window.pwned = 1</script>',
      '<img src=x onerror="window.pwned = 2">',
      '<style>body { display: none }</style>',
      '[click me](javascript:window.pwned=3)',
      '<a href="javascript:window.pwned=4">raw link</a>',
      '![pixel](http://127.0.0.1:9/pixel.png)',
      '<iframe src="javascript:window.pwned=5"></iframe><svg onload="window.pwned=6"></svg>',
      '[x](data:text/html,<script>window.pwned=7</script>) <b onmouseover="window.pwned=8">bold?</b>',
    ];
    for (const text of hostile) await say(ada.page, text);
    await ben.page.locator('.msg .text', { hasText: 'bold?' }).waitFor();
    const list = ben.page.locator('#message-list');
    for (const tag of ['script', 'style', 'img', 'iframe', 'svg', 'b']) {
      assert.equal(await list.locator(tag).count(), 0, `no <${tag}> from a message`);
    }
    assert.equal(await list.locator('.text [onerror], .text [onload], .text [onmouseover], .text [style]').count(), 0);
    assert.ok(await list.getByText('<script>window.pwned = 1</script>').isVisible(), 'typed HTML shows as text');
    await list.getByText('click me').click();
    await list.getByText('bold?').hover();
    assert.equal(await ben.page.evaluate(() => window.pwned), 0, 'nothing from a message ran');
    for (const href of await list.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
      assert.ok(href === null || /^(https?:|mailto:|#)/.test(href), `no dangerous link: ${href}`);
    }
    assert.equal(await ben.page.locator('body').isVisible(), true);
    await shot(ben.page, 'markdown-hostile');

    // A fenced block: monospace, with a Copy button that copies the code.
    await say(ada.page, 'Run this:\n```sh\ncargo build --release\n```');
    const block = ben.page.locator('.msg .code-block', { hasText: 'cargo build' });
    await block.waitFor();
    const font = await block.locator('pre code').evaluate((el) => getComputedStyle(el).fontFamily);
    assert.match(font, /mono/i);
    await block.getByRole('button', { name: 'Copy the code' }).click();
    await block.getByRole('button', { name: 'Copy the code' }).filter({ hasText: 'Copied' }).waitFor();
    assert.equal((await ben.page.evaluate(() => navigator.clipboard.readText())).trim(), 'cargo build --release');
    await shot(ben.page, 'markdown');

    // Mentions stand out, except inside code.
    await say(ada.page, '@Ben can you look? not `@code`');
    const mention = ben.page.locator('.msg .text', { hasText: 'can you look?' });
    await mention.waitFor();
    assert.deepEqual(await mention.locator('.mention').allTextContents(), ['@Ben']);
    assert.deepEqual([...ada.page.errors, ...ben.page.errors], []);
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('a markdown reply renders as it grows, never losing what was shown', {
  timeout: 60000,
  skip: supports('--llm-base-url') ? false : 'this server build has no bot (--llm-base-url)',
}, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await p.getByRole('button', { name: 'Ask the assistant' }).click();
    await p.locator('#room-title', { hasText: 'Assistant' }).waitFor();
    // Every state of the reply's text the page ever showed, as the length of its visible text.
    await p.evaluate(() => {
      window.lengths = [];
      new MutationObserver(() => {
        const el = document.querySelector('.msg.bot .text');
        if (el) window.lengths.push(el.textContent.replace('Copy', '').length);
      }).observe(document.getElementById('message-list'), { subtree: true, childList: true, characterData: true });
    });
    await say(p, 'some markdown please');
    const reply = p.locator('.msg.bot').last();
    await reply.locator('.text', { hasText: 'Done.' }).waitFor();
    await reply.locator('.cursor').waitFor({ state: 'detached' });
    assert.equal(await reply.locator('strong').textContent(), 'bold');
    assert.equal(await reply.locator('li').count(), 2);
    assert.equal((await reply.locator('pre code').textContent()).trim(), 'const answer = 42;');
    await reply.getByRole('button', { name: 'Copy the code' }).waitFor();
    const lengths = await p.evaluate(() => window.lengths);
    assert.ok(lengths.length >= 5, `it grew in steps: ${lengths.length}`);
    // A closing `**` or fence may turn shown markers into formatting (a few characters less),
    // but no step blanks or drops what was there.
    for (let i = 1; i < lengths.length; i++) {
      assert.ok(lengths[i] >= lengths[i - 1] - 4, `no step showed less than the one before: ${lengths.slice(0, i + 1).join(',')}`);
    }
    await shot(p, 'markdown-streamed');
  } finally {
    await ada.context.close();
  }
});

test('receipts name who read, and stay under a reply while it streams', {
  timeout: 90000,
  skip: supports('--llm-base-url') ? false : 'this server build has no bot (--llm-base-url)',
}, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Receipts');
    await openRoom(ben.page, 'Receipts');
    await say(ada.page, 'hello Ben');
    await ada.page.locator('.msg .reads', { hasText: 'Read by Ben' }).waitFor();

    await ada.page.getByRole('button', { name: 'Add assistant' }).click();
    await say(ada.page, '@bot tell me a long story');
    const reply = ada.page.locator('.msg.bot.streaming');
    await reply.locator('.reads', { hasText: 'Read by Ben' }).waitFor();
    // Count every moment the receipt is missing under the reply while it grows.
    await ada.page.evaluate(() => {
      window.receiptLost = 0;
      new MutationObserver(() => {
        const el = document.querySelector('.msg.bot');
        if (el && !el.querySelector('.reads')) window.receiptLost++;
      }).observe(document.getElementById('message-list'), { subtree: true, childList: true });
    });
    const grown = async (n) => ada.page.waitForFunction((k) => (document.querySelector('.msg.bot .text')?.textContent ?? '').includes(`word${k}`), n);
    const start = Number((await reply.locator('.text').textContent()).match(/word(\d+)/g)?.length ?? 0);
    await grown(start + 20);
    assert.equal(await ada.page.evaluate(() => window.receiptLost), 0, 'the receipt never left the streaming reply');
    assert.doesNotMatch(await ada.page.locator('#message-list').textContent(), /someone/);
    await shot(ada.page, 'receipts-streaming');
    await ada.page.getByRole('button', { name: 'Stop' }).click();
    await ada.page.locator('.msg.bot .note', { hasText: 'Stopped' }).waitFor();
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('hover actions cover no neighbour and are reachable by keyboard', { timeout: 60000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Hover');
    await openRoom(ben.page, 'Hover');
    await say(ben.page, 'a message from Ben right above');
    await ada.page.locator('.msg .text', { hasText: 'right above' }).waitFor();
    await say(ada.page, 'mine, short');
    await say(ben.page, 'and Ben again right below, a longer line that reaches across the page to the right edge');
    await ada.page.locator('.msg .text', { hasText: 'right below' }).waitFor();

    const mine = ada.page.locator('.msg.mine', { hasText: 'mine, short' });
    await mine.hover();
    const actions = mine.locator('.actions');
    await ada.page.waitForFunction((el) => getComputedStyle(el).opacity === '1', await actions.elementHandle());
    const box = await actions.boundingBox();
    for (const other of await ada.page.locator('.msg:not(.mine) .text, .msg:not(.mine) time').all()) {
      assert.equal(overlap(box, await other.boundingBox()), false, 'the actions cover no one else');
    }
    await shot(ada.page, 'hover-actions');

    // From the message box, Shift+Tab reaches the message's actions, which then show.
    await ada.page.mouse.move(0, 0);
    await ada.page.getByLabel('Message', { exact: true }).focus();
    let reached = '';
    for (let i = 0; i < 20 && !reached; i++) {
      await ada.page.keyboard.press('Shift+Tab');
      reached = await ada.page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? '');
      if (!/your message/.test(reached)) reached = '';
    }
    assert.match(reached, /(Edit|Delete) your message/);
    await ada.page.waitForFunction((el) => getComputedStyle(el).opacity === '1', await actions.elementHandle());
    await ada.page.keyboard.press(reached.startsWith('Delete') ? 'Shift+Tab' : 'Enter');
    if (reached.startsWith('Delete')) await ada.page.keyboard.press('Enter');
    await ada.page.getByRole('textbox', { name: 'Edit your message' }).waitFor();
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('a room opened with unread messages shows a divider, and "jump to latest" when scrolled up', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  try {
    await createRoom(ada.page, 'Divider');
    await say(ada.page, 'before Ben left');
    await openRoom(ben.page, 'Divider');
    await ben.page.locator('.msg .text', { hasText: 'before Ben left' }).waitFor();
    await ada.page.locator('.msg .reads', { hasText: 'Read by Ben' }).waitFor();
    await createRoom(ben.page, 'Elsewhere');
    await ada.page.evaluate(async () => {
      const room = window.chat.session && [...document.querySelectorAll('#room-list button')].find((b) => b.textContent.includes('Divider')).dataset.room;
      for (let i = 1; i <= 30; i++) await window.chat.send(room, `news ${i}`);
    });
    const badge = ben.page.locator('#room-list button', { hasText: 'Divider' }).locator('.badge');
    await ben.page.getByRole('button', { name: 'Refresh the room list' }).click();
    await badge.filter({ hasText: '30' }).waitFor();
    await ben.page.locator('#room-list button', { hasText: 'Divider' }).click();

    const divider = ben.page.locator('#message-list .new-divider', { hasText: 'New messages' });
    await divider.waitFor();
    const after = await divider.evaluate((el) => el.nextElementSibling?.querySelector('.text')?.textContent);
    assert.equal(after, 'news 1', 'the divider sits before the first unread message');
    assert.ok(await divider.isVisible(), 'the room opens at the divider');
    const jump = ben.page.getByRole('button', { name: 'Jump to latest' });
    await jump.waitFor();
    await shot(ben.page, 'new-messages-divider');
    await jump.click();
    await ben.page.locator('.msg .text', { hasText: /^news 30$/ }).waitFor();
    await jump.waitFor({ state: 'hidden' });
    assert.ok(await ben.page.locator('.msg .text', { hasText: /^news 30$/ }).isVisible());
    // Read now: Ada sees it.
    const last = ada.page.locator('.msg').filter({ has: ada.page.locator('.text', { hasText: /^news 30$/ }) });
    await last.locator('.reads', { hasText: 'Read by Ben' }).waitFor();
  } finally {
    await ada.context.close();
    await ben.context.close();
  }
});

test('the presence line reads naturally and fits a phone header with the room actions', { timeout: 90000 }, async () => {
  const phone = { width: 390, height: 780 };
  const ada = await openPerson(browser, app.url, { name: 'Ada', viewport: phone });
  const ben = await openPerson(browser, app.url, { name: 'Ben' });
  const cy = await openPerson(browser, app.url, { name: 'Cyrielle Montgomery-Smith' });
  try {
    await createRoom(ada.page, 'Standup');
    await openRoom(ben.page, 'Standup');
    await openRoom(cy.page, 'Standup');
    const line = ada.page.locator('#room-online');
    await line.filter({ hasText: /^(Ben, Cyrielle Montgomery-Smith|Cyrielle Montgomery-Smith, Ben) and you$/ }).waitFor();
    const head = await ada.page.locator('.chat-head').boundingBox();
    const lineBox = await line.boundingBox();
    const actions = await ada.page.locator('.room-actions').boundingBox();
    assert.ok(actions.x + actions.width <= phone.width + 0.5, 'the room actions are on screen');
    assert.ok(lineBox.x + lineBox.width <= actions.x + 0.5, 'the presence line ends before the actions');
    assert.ok(lineBox.y + lineBox.height <= head.y + head.height + 0.5, 'the line stays inside the header');
    for (const name of ['Add assistant', 'Leave']) {
      const b = await ada.page.getByRole('button', { name, exact: true }).boundingBox();
      assert.ok(b && b.x >= 0 && b.x + b.width <= phone.width + 0.5, `${name} fits`);
    }
    await shot(ada.page, 'phone-header');
  } finally {
    await ada.context.close();
    await ben.context.close();
    await cy.context.close();
  }
});
