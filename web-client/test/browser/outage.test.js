// A reload while the server is down: the page still opens (the service worker's copy), says the
// server is not answering and keeps trying; "Try now" and the server's return bring it back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, connected, shot } from './helpers.js';

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

test('a reload during an outage says the server is down, retries, and recovers', { timeout: 90000 }, async () => {
  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    // The service worker has the page's copy once it controls the page.
    await p.evaluate(async () => {
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
    });
    assert.equal(await p.locator('#outage').isHidden(), true, 'no outage notice while the server is up');

    await app.server.kill();
    await p.reload();
    const notice = p.getByRole('alert').filter({ hasText: 'The chat server is not answering.' });
    await notice.waitFor();
    await p.locator('#outage-detail', { hasText: 'keeps trying' }).waitFor();
    await shot(p, 'outage-at-load');

    await app.restart();
    await p.getByRole('button', { name: 'Try now' }).click();
    await connected(p);
    await notice.waitFor({ state: 'hidden' });
    assert.equal(await p.locator('.me-name').textContent(), 'Ada', 'the same guest is back');
    assert.deepEqual(p.errors, []);
  } finally {
    await ada.context.close();
  }
});
