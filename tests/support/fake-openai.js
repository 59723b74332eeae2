// A scripted OpenAI-compatible upstream for the chatbot tests: a real `node:http` server on
// 127.0.0.1 (port 0) that answers `POST /v1/chat/completions` with `stream: true` in the real
// wire format (server-sent events of `chat.completion.chunk` objects, then `data: [DONE]`).
//
//   const fake = await startFakeOpenAI();
//   t.after(() => fake.close());
//   fake.enqueue({ tokens: ['Hel', 'lo'], usage: { prompt_tokens: 12, completion_tokens: 2 } });
//   ... start the chat server with `--llm-base-url ${fake.baseUrl}` and ask the bot ...
//   const req = await fake.request(0);      // headers, parsed JSON body
//   await fake.hungUp(0);                    // the chat server closed the connection early
//
// Each request takes the next script of the queue (or `defaultScript` when it is empty):
//
//   tokens        strings sent as `delta.content`, one chunk (and one write) each
//   delayMs       pause before each token (0: back to back)
//   roleChunk     first send the `{ role: "assistant", content: "" }` chunk OpenAI sends (default true)
//   finishReason  of the last chunk (default "stop"); null: no finish chunk
//   usage         { prompt_tokens, completion_tokens }: a usage chunk (`choices: []`) before [DONE]
//   status        an HTTP error status (e.g. 500, 401) answered with an OpenAI-style JSON error body
//   errorMessage  the error body's message
//   cutAfter      destroy the socket after this many tokens (a stream cut mid-answer)
//   malformed     after this many tokens, send a data line that is not JSON (then the rest as usual)
//   hang          send nothing at all, not even the headers, until the client gives up
//   stallAfter    after this many tokens send nothing more until the client gives up
//   pauseAfter    after this many tokens (a number or a list) wait for `fake.release(i)`, then go on
//   splitWrites   send every event in two writes that arrive apart, cut inside a UTF-8 sequence if any
//   crlf          end lines with CRLF instead of LF (allowed by the SSE format)
//   comments      precede every event with a `: keep-alive` comment line (as some providers do)
//
// Everything is recorded in `fake.requests[i]`: { index, method, url, headers, rawBody, body,
// script, tokensSent, finished, hungUp }. `finished`: the response ended normally; `hungUp`: the
// client closed the connection before that.
import http from 'node:http';
import { once } from 'node:events';

const DEFAULT_SCRIPT = { tokens: ['OK'] };

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`fake OpenAI: timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function startFakeOpenAI({ defaultScript = DEFAULT_SCRIPT } = {}) {
  const queue = [];
  const requests = [];
  // per request index: deferreds for arrival, pause reached, release, hang-up, end
  const slots = [];
  const slot = (i) => {
    slots[i] ??= {
      arrived: deferred(),
      pauses: [], // one { reached, release } per pause point, in order
      releases: 0,
      closed: deferred(), // resolves with { hungUp } once the exchange is over either way
    };
    return slots[i];
  };
  const pausePoint = (i, k) => {
    const s = slot(i);
    s.pauses[k] ??= { reached: deferred(), release: deferred() };
    return s.pauses[k];
  };
  const sockets = new Set();
  let chunkId = 0;

  const server = http.createServer(async (req, res) => {
    const index = requests.length;
    const record = {
      index,
      method: req.method,
      url: req.url,
      headers: req.headers,
      rawBody: '',
      body: undefined,
      script: null,
      tokensSent: 0,
      finished: false,
      hungUp: false,
    };
    requests.push(record);
    const s = slot(index);

    let over = false;
    const settle = (hungUp) => {
      if (over) return;
      over = true;
      record.hungUp = hungUp;
      s.closed.resolve({ hungUp });
    };
    res.on('close', () => settle(!res.writableFinished));
    res.on('finish', () => {
      record.finished = true;
      settle(false);
    });
    const gone = () => over || res.destroyed || res.socket?.destroyed;

    req.setEncoding('utf8');
    try {
      for await (const chunk of req) record.rawBody += chunk;
    } catch {
      settle(true);
      return;
    }
    try {
      record.body = JSON.parse(record.rawBody);
    } catch {
      record.body = undefined;
    }
    const script = { roleChunk: true, finishReason: 'stop', delayMs: 0, ...(queue.shift() ?? defaultScript) };
    record.script = script;
    s.arrived.resolve(record);

    if (req.method !== 'POST' || !/\/chat\/completions$/.test(req.url.split('?')[0])) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', code: null } }));
      return;
    }
    if (script.hang) return; // never answer; `closed` resolves when the client gives up
    if (script.status) {
      res.writeHead(script.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        error: {
          message: script.errorMessage ?? `fake upstream error ${script.status}`,
          type: script.status === 401 ? 'invalid_request_error' : 'server_error',
          code: script.status === 401 ? 'invalid_api_key' : null,
        },
      }));
      return;
    }

    const model = record.body?.model ?? 'fake-model';
    const id = `chatcmpl-fake${++chunkId}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices, extra = {}) => `data: ${JSON.stringify({
      id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake', choices, ...extra,
    })}\n\n`;
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    const write = (data) => {
      if (gone()) return false;
      res.write(data);
      return true;
    };
    const flushed = () => new Promise((r) => {
      if (gone() || !res.socket) r();
      else res.socket.write('', () => r());
    });
    // One SSE event (or raw line), framed as the script says.
    const send = async (text) => {
      if (script.comments) text = `: keep-alive\n\n${text}`;
      if (script.crlf) text = text.replaceAll('\n', '\r\n');
      if (!script.splitWrites) return write(text);
      // Two writes that reach the client separately, cut inside a UTF-8 sequence when there is one.
      const bytes = Buffer.from(text, 'utf8');
      const multi = bytes.findIndex((b) => b >= 0x80);
      const cut = multi >= 0 ? multi + 1 : bytes.length >> 1;
      if (!write(bytes.subarray(0, cut))) return false;
      await flushed();
      await wait(5);
      return write(bytes.subarray(cut));
    };

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.flushHeaders();
    if (script.roleChunk) await send(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));

    const tokens = script.tokens ?? [];
    const pauseAt = [script.pauseAfter ?? []].flat();
    let pauses = 0;
    for (let k = 0; k <= tokens.length; k++) {
      if (gone()) return;
      for (const at of pauseAt) {
        if (at !== k) continue;
        const p = pausePoint(index, pauses++);
        p.reached.resolve(record);
        await Promise.race([p.release.promise, s.closed.promise]);
        if (gone()) return;
      }
      if (script.stallAfter === k || script.cutAfter === k) {
        if (script.stallAfter === k) {
          pausePoint(index, pauses++).reached.resolve(record);
          return; // keep the connection open, silent
        }
        // Let what was written reach the wire first (Node corks chunked writes until the next
        // tick), then drop the connection without finishing the chunked body.
        const socket = res.socket;
        if (socket && !socket.destroyed) await new Promise((r) => socket.write('', () => r()));
        socket?.destroy();
        return;
      }
      if (script.malformed === k) await send('data: {"id":"broken","choices":[{"delta":{"content":"oops"\n\n');
      if (k === tokens.length) break;
      if (script.delayMs > 0) await wait(script.delayMs);
      if (!await send(chunk([{ index: 0, delta: { content: tokens[k] }, logprobs: null, finish_reason: null }]))) return;
      record.tokensSent = k + 1;
    }
    if (script.finishReason !== null) {
      await send(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: script.finishReason }]));
    }
    if (script.usage) {
      const { prompt_tokens: p = 0, completion_tokens: c = 0 } = script.usage;
      await send(chunk([], { usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c } }));
    }
    await send('data: [DONE]\n\n');
    if (!gone()) res.end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    /** Queue scripts for the next requests, in order. */
    enqueue(...scripts) {
      queue.push(...scripts);
    },
    /** Resolve with request `i`'s record once it arrived (its body read). */
    request(i, { timeout = 10000 } = {}) {
      return withTimeout(slot(i).arrived.promise, timeout, `request #${i}`);
    },
    /** Resolve once request `i` reached its pause point number `k` (`pauseAfter`, or `stallAfter`). */
    paused(i, k = 0, { timeout = 10000 } = {}) {
      return withTimeout(pausePoint(i, k).reached.promise, timeout, `request #${i} to reach pause #${k}`);
    },
    /** Let request `i` go on after its next pause point that was not released yet. */
    release(i) {
      const s = slot(i);
      pausePoint(i, s.releases++).release.resolve();
    },
    /** Resolve once request `i`'s exchange is over: `{ hungUp }`. */
    closed(i, { timeout = 10000 } = {}) {
      return withTimeout(slot(i).closed.promise, timeout, `request #${i} to end`);
    },
    /** Resolve once the client closed request `i`'s connection before the response ended; reject if it ended normally. */
    async hungUp(i, { timeout = 10000 } = {}) {
      const { hungUp } = await withTimeout(slot(i).closed.promise, timeout, `the client to hang up request #${i}`);
      if (!hungUp) throw new Error(`fake OpenAI: request #${i} was answered to the end, the client did not hang up`);
      return requests[i];
    },
    async close() {
      for (const s of slots) for (const p of s?.pauses ?? []) p?.release.resolve();
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close').catch(() => {});
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
export async function closedPort() {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}
