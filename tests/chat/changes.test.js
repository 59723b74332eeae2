// The room's change log: every change (a new message, an edit, a delete) takes the room's next
// `rev`, gapless, and every socket gets a room's `message`, `edited` and `deleted` in rev order.
// A client that comes back with `since` and `rev` (in `auth` or `join`) receives the new
// messages in their latest state, then the changes it missed to older ones, and its view then
// equals `history`; a client that sends only `since` is served as before.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, send, unique, expectEvent,
} from '../support/chat.js';
import {
  changeView, historyOf, positionsClient, reconnect, assertRevOrder, project,
} from '../support/changes.js';

/**
 * Bob creates a room, Ann joins it; Ann is then followed by a positions client (`ann`, whose
 * auth sends since and, unless `withRev` is false, rev). Bob sends three messages Ann sees live.
 */
async function annFollowsBobsRoom(chat, { withRev = true } = {}) {
  const bob = await chat.guest('Bob');
  const ann0 = await chat.guest('Ann');
  const room = (await ok(bob, 'create', { name: unique('changes') })).id;
  await ok(ann0, 'join', { room });
  ann0.disconnect();
  const ann = await positionsClient(chat.clients, chat.url, { token: ann0.session.token, rooms: [room], withRev });
  const view = ann.views[room];
  const m = [];
  for (let i = 1; i <= 3; i++) m.push(await send(bob, room, `message ${i}`));
  await view.until(() => view.seq === 3 && view.rev === 3, 'three live messages at revs 1..3');
  assert.deepEqual(view.log.map((e) => [e.event, e.seq, e.rev]), [['message', 1, 1], ['message', 2, 2], ['message', 3, 3]],
    'a new room starts at rev 0 and each message takes the next rev');
  return { bob, ann, room, view, m };
}

/**
 * While Ann is away: Bob edits message 1, deletes message 2, sends 4 and 5, edits 4, edits 1
 * again. Returns the acks; asserts each change took the next rev (4..9).
 */
async function changesWhileAway(bob, room, m) {
  const e1 = await ok(bob, 'edit', { room, id: m[0].id, text: 'message 1, edited' });
  const d2 = await ok(bob, 'delete', { room, id: m[1].id });
  const m4 = await send(bob, room, 'message 4');
  const m5 = await send(bob, room, 'message 5');
  const e4 = await ok(bob, 'edit', { room, id: m4.id, text: 'message 4, edited' });
  const e1b = await ok(bob, 'edit', { room, id: m[0].id, text: 'message 1, edited twice' });
  assert.deepEqual([e1.rev, d2.rev, e4.rev, e1b.rev], [4, 5, 8, 9], 'edit and delete acks carry the change\'s rev');
  return { m4, m5, last: 9 };
}

/**
 * Ann's view after recovering with since 3 and rev 3: the checks shared by `auth` and `join`.
 * `from` is the index of Ann's log where the recovery's events start.
 */
async function assertRecovered(ann, bob, room, view, m, away, from) {
  const history = await historyOf(bob, room);
  assert.deepEqual(history.map((h) => [h.seq, h.text, h.deleted === true, h.rev]), [
    [1, 'message 1, edited twice', false, 9],
    [2, '', true, 5],
    [3, 'message 3', false, 3],
    [4, 'message 4, edited', false, 8],
    [5, 'message 5', false, 7],
  ], 'history: latest states and their revs');
  await view.untilEquals(history);
  await view.until(() => view.rev === away.last, `Ann's rev to reach ${away.last}`);
  await ok(ann, 'rooms', {}); // a round trip: anything the recovery queued for Ann has arrived

  const events = view.since(from);
  // New messages come in `messages` batches (never live), latest state, in seq order.
  assert.equal(events.filter((e) => e.event === 'message').length, 0, `a live message during the recovery: ${JSON.stringify(events)}`);
  const batches = events.filter((e) => e.event === 'messages');
  assert.ok(batches.length >= 1, `no messages batch: ${JSON.stringify(events)}`);
  assert.deepEqual(batches.flatMap((b) => b.seqs), [4, 5], 'the batches hold exactly the new messages, in seq order');
  assert.deepEqual(batches.flatMap((b) => b.revs), [8, 7], 'batched messages carry the rev of their latest change');
  // Then the changes to older messages, in rev order, after the batches.
  const lastBatch = events.lastIndexOf(batches.at(-1));
  const changes = events.filter((e) => e.event !== 'messages');
  assert.ok(events.slice(0, lastBatch).every((e) => e.event === 'messages'), `a change before the last batch: ${JSON.stringify(events)}`);
  assertRevOrder(changes, 'replayed changes');
  assert.ok(changes.every((c) => c.rev > 3), `a change at or before Ann's rev 3 was replayed: ${JSON.stringify(changes)}`);
  const old = changes.filter((c) => c.seq <= 3);
  assert.ok(old.some((c) => c.event === 'edited' && c.id === m[0].id && c.rev === 9), `no edited for message 1 at rev 9: ${JSON.stringify(changes)}`);
  assert.ok(old.some((c) => c.event === 'deleted' && c.id === m[1].id && c.rev === 5), `no deleted for message 2 at rev 5: ${JSON.stringify(changes)}`);
  assert.ok(!old.some((c) => c.id === m[2].id), `message 3 never changed, yet: ${JSON.stringify(changes)}`);
  assert.ok(changes.every((c) => c.seq <= 5), `a change to a message past the replayed point: ${JSON.stringify(changes)}`);
  assert.equal(view.seq, 5);
  assert.deepEqual(view.orphanEnds, []);
}

for (const backend of backends()) {
  describe(backend.name, () => {
    const chat = chatServer(backend, ['--rate-limit-per-sec', '10000', '--rate-limit-burst', '10000']);

    test('reconnect with auth.since and auth.rev: new messages in latest state, then the missed edits and deletes; the view equals history', async () => {
      const { bob, ann, room, view, m } = await annFollowsBobsRoom(chat);
      ann.disconnect();
      const away = await changesWhileAway(bob, room, m);

      const from = view.log.length;
      await reconnect(ann);
      assert.deepEqual(ann.auths.at(-1), { token: ann.auths[0].token, since: { [room]: 3 }, rev: { [room]: 3 } });
      await assertRecovered(ann, bob, room, view, m, away, from);

      // Live again: the next change comes once, at the next rev.
      const liveFrom = view.log.length;
      const e5 = await ok(bob, 'edit', { room, id: away.m5.id, text: 'message 5, edited live' });
      assert.equal(e5.rev, 10);
      await view.until(() => view.rev === 10, 'the live edit');
      assert.deepEqual(view.since(liveFrom).map((e) => [e.event, e.id, e.rev]), [['edited', away.m5.id, 10]]);

      // Reconnecting again with up-to-date positions replays nothing.
      ann.disconnect();
      const again = view.log.length;
      await reconnect(ann);
      assert.deepEqual(ann.auths.at(-1).rev, { [room]: 10 });
      assert.deepEqual(ann.auths.at(-1).since, { [room]: 5 });
      await ok(ann, 'rooms', {});
      const extra = view.since(again).filter((e) => e.event !== 'messages' || e.seqs.length > 0);
      assert.deepEqual(extra, [], 'a reconnect with current positions replayed something');
      await view.untilEquals(await historyOf(bob, room));
    });

    test('join { room, since, rev } on a live connection replays the same way', async () => {
      const { bob, ann, room, view, m } = await annFollowsBobsRoom(chat);
      // Ann stops receiving the room (leave), misses the changes, and joins again with her positions.
      await ok(ann, 'leave', { room });
      const away = await changesWhileAway(bob, room, m);
      assert.equal(view.rev, 3, 'a change reached Ann after she left');

      const from = view.log.length;
      const joined = await ok(ann, 'join', { room, since: view.seq, rev: view.rev });
      assert.equal(joined.room.lastSeq, 5);
      await assertRecovered(ann, bob, room, view, m, away, from);

      // A second tab of Ann's, opened now, receives the room live; a repeated join with the
      // first tab's old positions replays the same on that socket.
      const tab = await chat.connect({ token: ann.session.token });
      const tabView = changeView(tab, room);
      await ok(tab, 'join', { room, since: 3, rev: 3 });
      // The tab never had message 3 (unchanged since rev 3): it holds the others, in their latest state.
      const all = await historyOf(bob, room);
      await tabView.untilEquals(all.filter((h) => h.seq !== 3), { fields: ['id', 'seq', 'text', 'deleted', 'rev'] });
      // Messages 1 and 2 reached this tab only through their changes.
      assert.ok(tabView.entries().some((c) => c.id === m[0].id && c.event === 'edited'));
      assert.ok(tabView.entries().some((c) => c.id === m[1].id && c.event === 'deleted'));
    });

    test('a client that sends only since gets exactly the new messages, in latest state, and no replayed changes', async () => {
      const { bob, ann, room, view, m } = await annFollowsBobsRoom(chat, { withRev: false });
      ann.disconnect();
      const away = await changesWhileAway(bob, room, m);

      const from = view.log.length;
      await reconnect(ann);
      assert.deepEqual(ann.auths.at(-1), { token: ann.auths[0].token, since: { [room]: 3 } });
      await view.until(() => view.seq >= 5, 'the replay of 4 and 5');
      await ok(ann, 'rooms', {}); // a round trip: anything the recovery queued for Ann has arrived
      const events = view.since(from);
      assert.deepEqual(events.filter((e) => e.event !== 'messages'), [], 'an old client got something besides batches');
      const seqs = events.flatMap((e) => e.seqs);
      assert.deepEqual(seqs, [4, 5], 'exactly the new messages, each once');
      const four = view.byId.get(away.m4.id);
      assert.equal(four.text, 'message 4, edited', 'a replayed message is in its latest state');
      assert.equal(four.rev, 8);
      // The old messages stay as Ann last saw them (as before: history tells the rest).
      assert.equal(view.byId.get(m[0].id).text, 'message 1');
      assert.equal(view.byId.get(m[1].id).deleted, undefined);

      // Live delivery goes on, edits included, each once.
      const liveFrom = view.log.length;
      const sixth = await send(bob, room, 'message 6');
      const edit = await ok(bob, 'edit', { room, id: m[2].id, text: 'message 3, edited live' });
      await view.until(() => view.rev === edit.rev, 'the live edit');
      assert.deepEqual(view.since(liveFrom).map((e) => [e.event, e.seq, e.rev]), [['message', sixth.seq, 10], ['edited', 3, 11]]);
    });

    test('rev grows by exactly one per change, and every socket gets message, edited and deleted in rev order', { timeout: 30000 }, async () => {
      const bob = await chat.guest('Bob');
      const dan = await chat.guest('Dan');
      const cat = await chat.guest('Cat');
      const room = (await ok(bob, 'create', { name: unique('revs') })).id;
      await ok(dan, 'join', { room });
      await ok(cat, 'join', { room });
      const views = { bob: changeView(bob, room), dan: changeView(dan, room), cat: changeView(cat, room) };

      // One writer, one change at a time: the log is exactly this.
      const m1 = await send(bob, room, 'one');
      const m2 = await send(bob, room, 'two');
      const e1 = await ok(bob, 'edit', { room, id: m1.id, text: 'one, edited' });
      const m3 = await send(bob, room, 'three');
      const d2 = await ok(bob, 'delete', { room, id: m2.id });
      const e3 = await ok(bob, 'edit', { room, id: m3.id, text: 'three, edited' });
      const e1b = await ok(bob, 'edit', { room, id: m1.id, text: 'one, edited twice' });
      const expected = [
        ['message', m1.id, 1], ['message', m2.id, 2], ['edited', m1.id, 3], ['message', m3.id, 4],
        ['deleted', m2.id, 5], ['edited', m3.id, 6], ['edited', m1.id, 7],
      ];
      assert.deepEqual([e1.rev, d2.rev, e3.rev, e1b.rev], [3, 5, 6, 7], 'acks of edit and delete');
      for (const [who, v] of Object.entries(views)) {
        await v.until(() => v.rev === 7, `${who} to see rev 7`);
        assert.deepEqual(v.log.map((e) => [e.event, e.id, e.rev]), expected, `what ${who} saw live`);
      }

      // Two writers at once, pipelined (no waiting for acks): still one rev per change, gapless,
      // each socket in rev order, and each message's own changes after it.
      const burst = async (socket, who, n) => {
        const done = [];
        for (let i = 0; i < n; i++) {
          const sent = await send(socket, room, `${who} ${i}`);
          const ops = [ok(socket, 'edit', { room, id: sent.id, text: `${who} ${i}, edited` })];
          if (i % 2 === 0) ops.push(ok(socket, 'delete', { room, id: sent.id }));
          else ops.push(ok(socket, 'edit', { room, id: sent.id, text: `${who} ${i}, edited again` }));
          done.push(...await Promise.all(ops));
        }
        return done;
      };
      const N = 12;
      const results = await Promise.all([burst(bob, 'bob', N), burst(dan, 'dan', N)]);
      const total = 7 + 2 * N * 3;
      const ackRevs = results.flat().map((r) => r.rev);
      assert.equal(new Set(ackRevs).size, ackRevs.length, `two edit or delete acks with one rev: ${ackRevs}`);
      assert.ok(ackRevs.every((r) => r > 7 && r <= total), `an ack rev out of range: ${ackRevs}`);
      const history = await historyOf(bob, room);
      assert.equal(Math.max(...history.map((h) => h.rev)), total, 'the newest rev in history is the number of changes');
      for (const [who, v] of Object.entries(views)) {
        await v.until(() => v.rev === total, `${who} to see rev ${total}`);
        assert.deepEqual(v.log.map((e) => e.rev), Array.from({ length: total }, (_, i) => i + 1),
          `${who}: revs not gapless and in order: ${JSON.stringify(v.log.slice(7).map((e) => [e.event, e.rev]))}`);
        const firstSeen = new Map();
        for (const [i, e] of v.log.entries()) {
          if (e.event === 'message') firstSeen.set(e.id, i);
          else assert.ok(firstSeen.has(e.id), `${who}: ${e.event} of ${e.id} (rev ${e.rev}) before its message`);
        }
        assert.deepEqual(v.stale, [], `${who} received a state older than one it had`);
        await v.untilEquals(history);
      }
      // Each message's rev in history is the rev of its last change as the sockets saw it.
      const lastChange = new Map(views.cat.log.map((e) => [e.id, e.rev]));
      for (const h of history) assert.equal(h.rev, lastChange.get(h.id), `rev of ${JSON.stringify(project(h))}`);
    });

    test('reconnecting twice while changes keep coming: no gap, no duplicate message, the view equals history', { timeout: 30000 }, async () => {
      const bob = await chat.guest('Bob');
      const ann0 = await chat.guest('Ann');
      const room = (await ok(bob, 'create', { name: unique('burst') })).id;
      await ok(ann0, 'join', { room });
      ann0.disconnect();
      const ann = await positionsClient(chat.clients, chat.url, { token: ann0.session.token, rooms: [room] });
      const view = ann.views[room];

      // Each new message comes with a change to an older one: an edit, or every third time a
      // delete (never of a message already deleted).
      const ids = [];
      const deleted = new Set();
      let changes = 0;
      const write = async (from, to) => {
        for (let i = from; i < to; i++) {
          ids.push((await send(bob, room, `flow ${i}`)).id);
          let target = ids[Math.floor(i / 2)];
          if (deleted.has(target)) target = ids[i];
          if (i % 3 === 2 && target !== ids[i]) {
            deleted.add(target);
            await ok(bob, 'delete', { room, id: target });
          } else {
            await ok(bob, 'edit', { room, id: target, text: `flow edited at ${i}` });
          }
          changes += 2;
        }
      };
      await write(0, 20);
      await view.until(() => view.rev === changes, 'the first 20 messages and their changes, live');
      ann.disconnect();
      await write(20, 35);
      // The reconnection races with more writes, and so does a transport cut.
      const more = write(35, 55);
      await reconnect(ann);
      await more;
      const last = write(55, 80);
      const cut = expectEvent(ann, 'disconnect');
      ann.io.engine.close();
      await cut;
      await reconnect(ann);
      await last;

      const history = await historyOf(bob, room);
      assert.equal(history.length, 80);
      assert.equal(Math.max(...history.map((h) => h.rev)), changes, 'the newest rev is the number of changes');
      await view.untilEquals(history, { timeout: 15000 });
      const seqs = view.log.flatMap((e) => (e.event === 'messages' ? e.seqs : e.event === 'message' ? [e.seq] : []));
      assert.deepEqual(seqs, Array.from({ length: 80 }, (_, i) => i + 1), 'messages: no gap, no duplicate');
      assert.equal(ann.sessions.length, 3);
    });
  });
}
