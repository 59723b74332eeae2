// Hostile input, msgpack parser (--parser msgpack): generated malformed binary packets, text where
// binary is expected and chat events of the wrong shape over both transports while well-behaved
// msgpack users chat (support/fuzz.js, support/fuzz-run.js).
import { fuzzSuite } from '../support/fuzz-run.js';

fuzzSuite('msgpack', { seed: 0x5eed2 });
