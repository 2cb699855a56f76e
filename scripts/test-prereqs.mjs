// `npm test` runs this first (pretest): what the suite needs outside node_modules, on a fresh Debian
// machine. As root it installs what is missing from Debian's packages and starts NATS the way the
// dev/CI machine runs it; otherwise it fails in one line naming the package and the command.
//   - chromium (the dashboard's end-to-end tests drive a real browser; CHROMIUM_PATH overrides)
//   - nats-server (integration tests start private ones; a JetStream server on 127.0.0.1:4222)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const NATS_BIN = '/usr/sbin/nats-server';
const NATS_DIR = '/var/lib/nats-server';
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let aptUpdated = false;

function fail(line) {
  process.stderr.write(`npm test: ${line}\n`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

function aptInstall(pkg, path) {
  if (existsSync(path)) return;
  if (!isRoot) fail(`${path} is missing: install Debian's ${pkg} package (sudo apt-get update && sudo apt-get install -y --no-install-recommends ${pkg})`);
  process.stderr.write(`npm test: installing ${pkg} (apt-get)…\n`);
  if (!aptUpdated) aptUpdated = run('apt-get', ['update', '-qq']);
  if (!run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg]) || !existsSync(path)) {
    fail(`could not install ${pkg}: run apt-get install -y --no-install-recommends ${pkg} and read its error`);
  }
}

function listening(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

aptInstall('chromium', CHROMIUM);
aptInstall('nats-server', NATS_BIN);
if (!(await listening(4222))) {
  if (!isRoot) fail(`no NATS server on 127.0.0.1:4222: start one with ${NATS_BIN} -a 127.0.0.1 -p 4222 -js -sd ${NATS_DIR}`);
  mkdirSync(NATS_DIR, { recursive: true });
  run('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', NATS_BIN, '--', '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', NATS_DIR]);
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    up = await listening(4222);
    if (!up) await sleep(100);
  }
  if (!up) fail(`nats-server did not start on 127.0.0.1:4222: run ${NATS_BIN} -a 127.0.0.1 -p 4222 -js -sd ${NATS_DIR} and read its error`);
}
