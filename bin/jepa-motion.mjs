#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx jepa-motion` works in a checkout after `npm ci`.
import { register } from 'tsx/esm/api';

// `jepa-motion … | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
