// The assistant in the page: its answer streams in (the text visibly grows), and Stop ends a
// long answer at once, keeping what was written. The bot's model is a stand-in on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot } from './helpers.js';
import { supports } from '../helpers/server.js';
import { next } from '../helpers/wait.js';

const skip = supports('--llm-base-url') ? false : 'this server build has no bot (--llm-base-url)';
let app;
let browser;
before(async () => {
  if (skip) return;
  app = await startApp();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await app?.stop();
});

async function ask(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

test('the answer streams in, then Stop ends a long one and keeps the partial text', { skip, timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await p.getByRole('button', { name: 'Ask the assistant' }).click();
    await p.locator('#room-title', { hasText: 'Assistant' }).waitFor();

    // Record the reply's text every time it changes, to see it grow.
    await p.evaluate(() => {
      window.seenTexts = [];
      new MutationObserver(() => {
        const el = document.querySelector('.msg.bot:last-child .text');
        const t = el?.firstChild?.textContent ?? '';
        if (t && window.seenTexts.at(-1) !== t) window.seenTexts.push(t);
      }).observe(document.getElementById('message-list'), { subtree: true, childList: true, characterData: true });
    });
    await ask(p, 'hello, what can you do?');
    const reply = p.locator('.msg.bot').last();
    await reply.locator('.text', { hasText: 'word40.' }).waitFor();
    await reply.locator('.cursor').waitFor({ state: 'detached' });
    const seen = await p.evaluate(() => window.seenTexts);
    assert.ok(seen.length >= 3, `the text grew in steps, saw ${seen.length}: ${JSON.stringify(seen.slice(0, 5))}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].startsWith(seen[i - 1]));
    assert.equal(await p.locator('#stop').isHidden(), true, 'no Stop button once the answer is complete');

    // A long answer: Stop appears while it streams and ends it.
    const aborted = next(app.llm.events, 'aborted', { timeout: 30000 });
    await ask(p, 'tell me a long story');
    const stop = p.getByRole('button', { name: 'Stop' });
    await stop.waitFor();
    const long = p.locator('.msg.bot').last();
    await long.locator('.text', { hasText: 'word12 ' }).waitFor();
    await shot(p, 'bot-streaming');
    await stop.click();
    await aborted;
    await long.locator('.note', { hasText: 'Stopped' }).waitFor();
    await stop.waitFor({ state: 'hidden' });
    await long.locator('.cursor').waitFor({ state: 'detached' });
    const partial = await long.locator('.text').textContent();
    assert.match(partial, /^word1 word2 /);
    assert.ok(!partial.includes('word800'), 'stopped before the end');

    // The stored text is what was shown: a reload shows the same partial answer.
    await p.reload();
    await p.locator('#room-title', { hasText: 'Assistant' }).waitFor();
    await p.locator('.msg.bot .text', { hasText: partial.slice(0, 40) }).last().waitFor();
    assert.equal(await p.locator('.msg.bot .text').last().textContent(), partial);
    await shot(p, 'bot-stopped');
    assert.deepEqual(p.errors, []);
  } finally {
    await ada.context.close();
  }
});
