// A stand-in for an OpenAI-compatible chat API on 127.0.0.1, so bot replies are predictable:
// `POST /v1/chat/completions` answers with server-sent events, one word per `interval` ms.
// A question containing "long" gets a reply long enough to be stopped half-way.
import http from 'node:http';
import { EventEmitter } from 'node:events';

/** What a question containing "markdown" is answered with. */
export const MARKDOWN_REPLY = 'Here is **bold** and a list:\n\n- one\n- two\n\n```js\nconst answer = 42;\n```\n\nDone.';

/** "word1 ", "word2 ", …, "wordN." */
const numbered = (n) => Array.from({ length: n }, (_, k) => `word${k + 1}${k + 1 < n ? ' ' : '.'}`);

/**
 * @param {{ interval?: number, words?: number, longWords?: number }} [opts]
 */
export async function startFakeLlm({ interval = 15, words = 24, longWords = 600 } = {}) {
  const stats = { requests: 0, completed: 0, aborted: 0, questions: [] };
  /** Emits `request`, `completed` and `aborted`. */
  const events = new EventEmitter();
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'not here' } }));
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      stats.requests++;
      let question = '';
      try {
        const parsed = JSON.parse(body);
        const users = (parsed.messages ?? []).filter((m) => m.role === 'user');
        question = String(users.at(-1)?.content ?? '');
      } catch {
        // answer anyway
      }
      stats.questions.push(question);
      events.emit('request', question);
      // A question about markdown gets a markdown answer in small pieces, so a test sees a code
      // fence open before it closes; any other question gets numbered words.
      const pieces = /\bmarkdown\b/i.test(question)
        ? MARKDOWN_REPLY.match(/[\s\S]{1,5}/g)
        : numbered(/\blong\b/i.test(question) ? longWords : words);
      const count = pieces.length;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (obj) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
      send({ choices: [{ delta: { role: 'assistant' } }] });
      let i = 0;
      let finished = false;
      const timer = setInterval(() => {
        if (i < count) {
          i++;
          send({ choices: [{ delta: { content: pieces[i - 1] } }] });
          return;
        }
        clearInterval(timer);
        finished = true;
        stats.completed++;
        events.emit('completed');
        send({ choices: [{ delta: {}, finish_reason: 'stop' }] });
        send({ choices: [], usage: { prompt_tokens: 10, completion_tokens: count } });
        res.end('data: [DONE]\n\n');
      }, interval);
      res.on('close', () => {
        clearInterval(timer);
        if (!finished) {
          stats.aborted++;
          events.emit('aborted');
        }
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}/v1`,
    stats,
    events,
    /** The text a reply of `n` words has. */
    text: (n = words) => Array.from({ length: n }, (_, k) => `word${k + 1}`).join(' ') + '.',
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
