// The composition root: `jepa-motion <command> …`. Every error a user can cause ends as one line on
// stderr and a non-zero exit, never a stack trace; unexpected errors say so and still stay one line
// unless JEPA_DEBUG=1.
import { auditCommand, auditUsage } from './audit.js';
import { pipelineCommand, pipelineUsage } from './pipeline.js';
import { evalCommand, evalUsage } from './eval.js';
import { trainCommand, trainUsage } from './train.js';
import { replayCommand, replayUsage } from './replay.js';
import { serveCommand, serveUsage } from './serve.js';
import { inferCommand, inferUsage } from './infer.js';
import { processIo, UsageError, type CliIo } from './io.js';
import { tokenCommand, tokenUsage } from './token.js';
import { taskpackCommand, taskpackUsage } from './taskpack.js';
import { workerCommand, workerUsage } from './worker.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

const commands: Record<string, { run: Command; usage: string; summary: string }> = {
  serve: { run: serveCommand, usage: serveUsage, summary: 'Run the live server (npm start runs this on embedded defaults)' },
  worker: { run: workerCommand, usage: workerUsage, summary: 'Run job consumers only (retrain), for NATS deployments: any number, on any node' },
  infer: { run: inferCommand, usage: inferUsage, summary: 'Run the inference engine as a service for serve nodes (NATS request/reply)' },
  train: { run: trainCommand, usage: trainUsage, summary: 'Train or fine-tune the JEPA world model on recordings' },
  eval: { run: evalCommand, usage: evalUsage, summary: 'Evaluate a model on held-out recordings against its baselines' },
  replay: { run: replayCommand, usage: replayUsage, summary: 'Stream recordings as an iPad would (ARKit frames, real time) and report latency' },
  pipeline: { run: pipelineCommand, usage: pipelineUsage, summary: 'Stages 0–3 on recordings: artifacts, manifest, summary' },
  audit: { run: auditCommand, usage: auditUsage, summary: 'Re-hash every artifact of a run against its manifest (and a task pack’s stage chain)' },
  taskpack: { run: taskpackCommand, usage: taskpackUsage, summary: 'Stages 0–9 on recordings: a task pack per recording with report.html' },
  token: { run: (a, io) => tokenCommand(a, io), usage: tokenUsage, summary: 'Mint a JWT for a device, therapist or admin' },
};

export function usage(): string {
  const lines = Object.values(commands).map((c) => `  ${c.usage.padEnd(72)} ${c.summary}`);
  return `usage: jepa-motion <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.err(`jepa-motion: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`usage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportError(name, error, command.usage, io);
  }
}

function reportError(name: string, error: unknown, commandUsage: string, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`jepa-motion ${name}: ${error.message}\nusage: ${commandUsage}\n`);
    return 2;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  const code = (e as { code?: unknown }).code;
  const known = typeof code === 'string' && e.name !== 'Error';
  io.err(`jepa-motion ${name}: ${known ? `${e.message} [${String(code)}]` : `unexpected error: ${e.message}`}\n`);
  if (io.env.JEPA_DEBUG === '1' && e.stack) io.err(`${e.stack}\n`);
  return known ? 1 : 70;
}
