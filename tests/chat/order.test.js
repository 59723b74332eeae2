// One connection's events take effect in the order sent, and each sees the effects of the ones
// before it (issue 10, defect 2), for every event, not only some. Each case sends its events
// back to back without awaiting any ack (they leave in the same tick), the way a UI does when a
// user clicks fast, and checks the last one saw those before it. A few joins, creates or sends
// go first to widen the window a race would need. Races are not lost every time: each case runs
// ORDER_TRIES times (default 20) on fresh rooms and users.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  backends, chatServer, ok, fails, call, send, cid, unique, expectEvent,
} from '../support/chat.js';
import { startFakeOpenAI } from '../support/fake-openai.js';
import { botWatch } from '../support/bot.js';

const TRIES = Number(process.env.ORDER_TRIES || 20);
/** Sends pipelined before the event that must see them. */
const BATCH = 20;
/** Bulk for pipelined messages: larger rows take longer to store, which widens a race. */
const FILLER = 'x'.repeat(3000);
/** Rooms created or joined before the event that must see the last one. */
const SPREAD = 3;

/** Runs `attempt(i)` TRIES times; it returns null when all went right, else what went wrong. */
async function everyTime(what, attempt) {
  const faults = [];
  for (let i = 0; i < TRIES; i++) {
    const fault = await attempt(i);
    if (fault) faults.push(`#${i}: ${fault}`);
  }
  assert.deepEqual(faults, [], `${what}: wrong in ${faults.length} of ${TRIES} tries; first: ${faults[0]}`);
}

/** Both calls emitted in the same tick, in this order; resolves with both envelopes. */
function pipelined(socket, [event1, payload1], [event2, payload2]) {
  return Promise.all([call(socket, event1, payload1), call(socket, event2, payload2)]);
}

for (const backend of backends()) {
  describe(backend.name, () => {
    // The fake upstream is started before the server (hooks run in the order registered), so
    // its URL is in the server's flags when chatServer's `before` spreads them.
    const args = ['--rate-limit-burst', '1000'];
    let fake;
    before(async () => {
      fake = await startFakeOpenAI();
      args.push('--llm-base-url', fake.baseUrl, '--bot-coalesce-ms', '0');
    });
    after(() => fake?.close());
    // SQLite as deployed by default: a file, synchronous=full.
    const chat = chatServer(backend, args, { file: true });

    /** `count` public rooms made by a fresh guest (room creation is limited per user). */
    const freshRooms = async (count = SPREAD) => {
      const owner = await chat.guest('Owner');
      const rooms = [];
      for (let k = 0; k < count; k++) rooms.push((await ok(owner, 'create', { name: unique('order') })).id);
      return { owner, rooms, room: rooms.at(-1) };
    };
    const freshRoom = () => freshRooms(1);

    /** Everything answered ok, else a description of the first refusal. */
    const refusal = (answers, event) => {
      const bad = answers.find((a) => a.ok !== true);
      return bad ? `${event} answered ${JSON.stringify(bad)}` : null;
    };

    test('joins then typing: the typing notice is accepted and the room is told', async () => {
      await everyTime('typing right after join', async () => {
        const { owner, rooms, room } = await freshRooms();
        const ben = await chat.guest('Ben');
        const told = expectEvent(owner, 'typing', { filter: (e) => e?.room === room && e?.user?.userId === ben.session.userId });
        const answers = await Promise.all([
          ...rooms.map((r) => call(ben, 'join', { room: r })),
          call(ben, 'typing', { room, typing: true }),
        ]);
        const typed = answers.pop();
        const fault = refusal(answers, 'join') ?? refusal([typed], 'typing');
        if (fault) return fault;
        await told;
        return null;
      });
    });

    test('joins then presence: the joiner is listed online', async () => {
      await everyTime('presence right after join', async () => {
        const { rooms, room } = await freshRooms();
        const ben = await chat.guest('Ben');
        const answers = await Promise.all([
          ...rooms.map((r) => call(ben, 'join', { room: r })),
          call(ben, 'presence', { room }),
        ]);
        const seen = answers.pop();
        const fault = refusal(answers, 'join') ?? refusal([seen], 'presence');
        if (fault) return fault;
        const ids = seen.data.online.map((u) => u.userId);
        return ids.includes(ben.session.userId) ? null : `presence lists ${JSON.stringify(ids)} without the joiner`;
      });
    });

    test('creates then rooms: the new rooms are listed, with the caller a member', async () => {
      await everyTime('rooms right after create', async () => {
        const ada = await chat.guest('Ada');
        const answers = await Promise.all([
          ...Array.from({ length: SPREAD }, () => call(ada, 'create', { name: unique('fresh') })),
          call(ada, 'rooms', {}),
        ]);
        const listed = answers.pop();
        const fault = refusal(answers, 'create') ?? refusal([listed], 'rooms');
        if (fault) return fault;
        const mine = new Set(listed.data.filter((r) => r.member).map((r) => r.id));
        const missing = answers.filter((a) => !mine.has(a.data.id)).map((a) => a.data.id);
        return missing.length === 0 ? null : `rooms (${listed.data.length} rooms) lacks ${missing.length} of the ${SPREAD} just created: ${missing.join(', ')}`;
      });
    });

    test('sends then history (before the sends\' acks): the history holds every message', async () => {
      const { owner, room } = await freshRoom();
      await everyTime('history right after sends', async (i) => {
        const ids = Array.from({ length: BATCH }, () => cid());
        const answers = await Promise.all([
          ...ids.map((clientId, k) => call(owner, 'send', { room, text: `m${i}.${k} ${FILLER}`, clientId })),
          call(owner, 'history', { room, limit: BATCH }),
        ]);
        const hist = answers.pop();
        const refused = answers.find((a) => a.ok !== true);
        if (refused) return `send answered ${JSON.stringify(refused)}`;
        if (hist.ok !== true) return `history answered ${JSON.stringify(hist)}`;
        const got = hist.data.messages.map((m) => m.clientId);
        const missing = ids.filter((id) => !got.includes(id)).length;
        return missing === 0 ? null : `history lacks ${missing} of the ${BATCH} messages sent before it (ends at seq ${hist.data.messages.at(-1)?.seq}, the last send got seq ${answers.at(-1).data.seq})`;
      });
    });

    test('sends then read: the read mark can move up to the last message sent', async () => {
      const { room } = await freshRoom();
      const ben = await chat.guest('Ben');
      await ok(ben, 'join', { room });
      await everyTime('read right after sends', async (i) => {
        const answers = await Promise.all([
          ...Array.from({ length: BATCH }, (_, k) => call(ben, 'send', { room, text: `r${i}.${k} ${FILLER}`, clientId: cid() })),
          call(ben, 'read', { room, seq: 1_000_000 }),
        ]);
        const marked = answers.pop();
        const refused = answers.find((a) => a.ok !== true);
        if (refused) return `send answered ${JSON.stringify(refused)}`;
        if (marked.ok !== true) return `read answered ${JSON.stringify(marked)}`;
        const last = answers.at(-1).data.seq;
        return marked.data.seq === last ? null : `read clamped to seq ${marked.data.seq}, the last send got seq ${last}`;
      });
    });

    test('leave then send: the send is refused and nothing is stored', async () => {
      await everyTime('send right after leave', async (i) => {
        const { owner, room } = await freshRoom();
        const ben = await chat.guest('Ben');
        await ok(ben, 'join', { room });
        const clientId = `after-leave-${i}`;
        const [left, sent] = await pipelined(ben, ['leave', { room }], ['send', { room, text: 'am I still here?', clientId }]);
        if (left.ok !== true) return `leave answered ${JSON.stringify(left)}`;
        if (sent.ok !== false || sent.error?.code !== 'forbidden') return `send answered ${JSON.stringify(sent)}`;
        const stored = (await ok(owner, 'history', { room })).messages.filter((m) => m.clientId === clientId);
        return stored.length === 0 ? null : `stored anyway: ${JSON.stringify(stored)}`;
      });
    });

    test('join then send then history: each sees the one before', async () => {
      await everyTime('join, send, history in one go', async () => {
        const { room } = await freshRoom();
        const ben = await chat.guest('Ben');
        const clientId = cid();
        const [joined, sent, hist] = await Promise.all([
          call(ben, 'join', { room }),
          call(ben, 'send', { room, text: 'hello', clientId }),
          call(ben, 'history', { room }),
        ]);
        if (joined.ok !== true) return `join answered ${JSON.stringify(joined)}`;
        if (sent.ok !== true) return `send answered ${JSON.stringify(sent)}`;
        if (hist.ok !== true) return `history answered ${JSON.stringify(hist)}`;
        return hist.data.messages.some((m) => m.clientId === clientId) ? null : `history lacks the message: ${JSON.stringify(hist.data)}`;
      });
    });

    test('join then cancel: a member who just joined may stop the bot\'s reply', async () => {
      await everyTime('cancel right after join', async () => {
        const { owner, room } = await freshRoom();
        owner.bot = botWatch(owner);
        await ok(owner, 'add', { room, user: 'bot' });
        const ben = await chat.guest('Ben');
        const index = fake.requests.length;
        fake.enqueue({ tokens: ['Long ', 'answer'], pauseAfter: 1 });
        const q = await send(owner, room, '@bot tell me everything');
        const started = await owner.bot.started(q.id);
        await owner.bot.hasText(started.id, 'Long ');
        const [joined, cancelled] = await pipelined(ben, ['join', { room }], ['cancel', { room, id: started.id }]);
        if (cancelled.ok !== true) fake.release(index); // let the reply end so the next try is not queued behind it
        const end = await owner.bot.ended(q.id);
        if (joined.ok !== true) return `join answered ${JSON.stringify(joined)}`;
        if (cancelled.ok !== true) return `cancel answered ${JSON.stringify(cancelled)}`;
        return end.end.finishReason === 'cancelled' ? null : `the reply ended ${end.end.finishReason}`;
      });
    });

    test('refusals keep their place too: a bad event between two good ones changes nothing', async () => {
      const ada = await chat.guest('Ada');
      const name = unique('kept');
      const [created, bad, listed] = await Promise.all([
        call(ada, 'create', { name }),
        call(ada, 'send', { room: 'no-such-room', text: 'x', clientId: cid() }),
        call(ada, 'rooms', {}),
      ]);
      assert.equal(created.ok, true, JSON.stringify(created));
      assert.equal(bad.error?.code, 'not_found', JSON.stringify(bad));
      assert.ok(listed.data.some((r) => r.id === created.data.id && r.member), `rooms (${listed.data?.length} rooms) lacks the room created first, ${created.data.id}`);
      await fails(ada, 'join', { room: 'no-such-room' }, 'not_found');
    });
  });
}
