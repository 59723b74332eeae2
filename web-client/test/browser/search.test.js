// Search in the page: a query lists matching messages from the rooms one can read, best first;
// a result opens its room at that message, paging back as far as needed, with it marked.
// Against a server without the `search` event, skips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, startApp, openPerson, shot } from './helpers.js';
import { guest, closeAll } from '../helpers/clients.js';

let app;
let browser;
let hasSearch = false;
before(async () => {
  app = await startApp();
  browser = await launch();
  const probe = await guest(app.url, 'Probe');
  try {
    await probe.call('search', { query: 'probe' }, { timeout: 2000 });
    hasSearch = true;
  } catch (err) {
    hasSearch = err.code !== 'timeout' && err.code !== 'offline';
  }
});
after(async () => {
  closeAll();
  await browser?.close();
  await app?.stop();
});

test('a search result opens its room at the message, in context', { timeout: 90000 }, async (t) => {
  if (!hasSearch) return t.skip('this server has no `search` event yet');
  const seeder = await guest(app.url, 'Archivist');
  const room = await seeder.createRoom('Archive of decisions');
  await seeder.send(room.id, 'We chose PostgreSQL for the ledger because of tsvector');
  for (let i = 1; i <= 120; i++) await seeder.send(room.id, `filler ${i}`);

  const ada = await openPerson(browser, app.url, { name: 'Ada' });
  try {
    const p = ada.page;
    await p.getByLabel('Search messages').fill('ledger');
    await p.getByLabel('Search messages').press('Enter');
    const result = p.locator('#search-results .result', { hasText: 'PostgreSQL for the ledger' });
    await result.waitFor();
    assert.match(await result.textContent(), /Archive of decisions/);
    await shot(p, 'search-results');
    await result.click();
    const found = p.locator('.msg.found', { hasText: 'PostgreSQL for the ledger' });
    await found.waitFor();
    assert.ok(await found.isVisible(), 'the message is on screen');
    await p.locator('.msg .text', { hasText: /^filler 1$/ }).waitFor();
    await shot(p, 'search-jump');

    await p.getByLabel('Search messages').fill('nothingmatchesthis');
    await p.getByLabel('Search messages').press('Enter');
    await p.locator('#search-results', { hasText: 'Nothing matches' }).waitFor();
    await p.getByLabel('Search messages').press('Escape');
    await p.locator('#room-list').waitFor();
    assert.deepEqual(p.errors, []);
  } finally {
    await ada.context.close();
  }
});
