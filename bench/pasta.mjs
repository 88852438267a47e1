#!/usr/bin/env node
// Rootless networking with pasta: start-up of `lab sandbox run --network pasta -- true`
// as an ordinary user against `--network none` by the same user in the same session
// (target ≤ 1.5×); with a published port, also against `none` made supervised (a pasta
// sandbox that publishes ports is recorded, like a bridged one), which tells pasta's own
// cost from the supervisor's. Everything runs in
// a network namespace this benchmark makes, with a default route to a second one, so
// pasta has an interface to copy; nothing is sent anywhere.
// Needs root (to make the user and namespaces), hyperfine and pasta. Writes
// bench/results/pasta.json; /dev/net/tun's mode is opened for the run and restored.
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {hyperfine, need, report, ROOT} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
need('pasta', 'apt-get install passt')
if (process.getuid() !== 0) {
  console.error('bench: pasta needs root (to run lab as an ordinary user in a namespace of its own)')
  process.exit(2)
}
const USER = 'lab-rootless'
if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER])
const uid = Number(execFileSync('id', ['-u', USER], {encoding: 'utf8'}))
const NS = `labbench-p${process.pid}`
const OUT = `${NS}-o`
// short: the control sockets below it must fit a unix socket's path
const home = mkdtempSync('/tmp/lbp.')
chownSync(home, uid, uid)
const LAB = join(ROOT, 'bin', 'run.js')
const TUN = '/dev/net/tun'
const tunMode = statSync(TUN).mode & 0o7777
const asUser = (args) => `nsenter --net=/run/netns/${NS} runuser -u ${USER} -- env HOME=${home} LAB_STATE_DIR=${home}/state ${process.execPath} -- ${LAB} ${args}`
const ip = (...a) => execFileSync('ip', a)

try {
  if ((tunMode & 0o006) !== 0o006) chmodSync(TUN, tunMode | 0o006)
  ip('netns', 'add', NS)
  ip('netns', 'add', OUT)
  ip('-n', NS, 'link', 'set', 'lo', 'up')
  ip('-n', NS, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUT)
  ip('-n', NS, 'addr', 'add', '192.0.2.1/24', 'dev', 'up0')
  ip('-n', NS, 'link', 'set', 'up0', 'up')
  ip('-n', OUT, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0')
  ip('-n', OUT, 'link', 'set', 'eth0', 'up')
  ip('-n', NS, 'route', 'add', 'default', 'via', '192.0.2.2')
  execFileSync('sh', ['-c', asUser('sandbox create --name novols -- true')], {stdio: 'ignore'})
  const commands = {
    'none': asUser('sandbox run --network none -- true'),
    'none, supervised': asUser('sandbox run --network none --volumes-from novols -- true'),
    'pasta': asUser('sandbox run --network pasta -- true'),
    'pasta, one port': asUser('sandbox run --network pasta -p 18080:80 -- true'),
  }
  const means = hyperfine('pasta', commands, {runs: Number(process.env.BENCH_RUNS ?? 20), warmup: 3})
  report('pasta', means, [
    {what: 'pasta vs none', ratio: means.pasta / means.none, target: 1.5},
    {what: 'pasta with -p vs none', ratio: means['pasta, one port'] / means.none, target: 1.5},
    // a sandbox that publishes ports is recorded: the same supervisor as supervised none
    {what: 'pasta with -p vs none, supervised', ratio: means['pasta, one port'] / means['none, supervised'], target: 1.5},
  ], {pastaMs: (means.pasta - means.none) * 1000})
} finally {
  spawnSync('sh', ['-c', asUser('sandbox rm -f novols')], {stdio: 'ignore'})
  spawnSync('ip', ['netns', 'del', NS])
  spawnSync('ip', ['netns', 'del', OUT])
  rmSync(home, {recursive: true, force: true})
  chmodSync(TUN, tunMode)
}
