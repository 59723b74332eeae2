// Hostile input, default (JSON) parser: generated malformed Engine.IO / Socket.IO / chat input over
// both transports while well-behaved users chat (support/fuzz.js, support/fuzz-run.js).
import { fuzzSuite } from '../support/fuzz-run.js';

fuzzSuite('json', { seed: 0x5eed1 });
