// A background-process entry for background-process.test.ts: answers 'echo' with its payload and
// process facts, exits with a code on 'exit', crashes on 'throw'.
import { backgroundStart } from '../../../src/jobs/host-port.js';

const start = backgroundStart<{ greeting: string; blob: Float32Array; map: Map<string, number> }>();
if (!start) throw new Error('background-echo.entry.ts runs only as a background process');
const { port, data } = start;
port.postMessage({ type: 'started', pid: process.pid, greeting: data.greeting, blob: data.blob, map: data.map, lowered: start.lowered, idle: start.idle });
port.on('message', (m: { type: 'echo'; value: unknown } | { type: 'exit'; code: number } | { type: 'throw' }) => {
  if (m.type === 'echo') port.postMessage({ type: 'echo', value: m.value });
  else if (m.type === 'exit') process.exit(m.code);
  else
    setImmediate(() => {
      throw new Error('background entry crashed on purpose');
    });
});
