#!/usr/bin/env node
// IPv6 on bridged networks, measured against the IPv4-only peers in the same session, all
// inside a network namespace this benchmark makes (and removes): nothing is sent beyond it.
//   start-up  `lab sandbox run --network dual -- true` on a dual-stack network (--ipv6)
//             vs a v4-only user network made the same way (target ≤ 1.1×: the v6 address,
//             route, lease and the port's address binding are the only difference), and vs
//             the v4-only default bridge (no target: a user network's own name server and
//             ruleset cost as much on v4, which the v4 user network's ratio shows)
// Needs root and hyperfine. Writes bench/results/network-ipv6.json.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hyperfine, need, report, ROOT} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
if (process.getuid() !== 0) {
  console.error('bench: network-ipv6 needs root (bridges, nftables)')
  process.exit(2)
}
const NS = `labbench6-${process.pid}`
const state = mkdtempSync(join(tmpdir(), 'lb6-'))
const env = {...process.env, LAB_STATE_DIR: state}
const LAB = join(ROOT, 'bin', 'run.js')
const lab = (...args) => execFileSync('nsenter', [`--net=/run/netns/${NS}`, process.execPath, '--', LAB, ...args], {env, encoding: 'utf8'}).trim()

execFileSync('ip', ['netns', 'add', NS])
// what lab keeps for the namespace's host (src/network/host-wide.ts): removed with it
const hostDir = `/run/lab/net-${statSync(`/run/netns/${NS}`).ino}`
try {
  execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'ip', 'link', 'set', 'lo', 'up'])
  lab('network', 'create', '--subnet', '10.97.0.0/24', 'v4')
  lab('network', 'create', '--ipv6', '--subnet', '10.97.1.0/24', 'dual')
  // the dual-stack sandbox really has its v6 address and route: checked once before timing
  const check = lab('sandbox', 'run', '--network', 'dual', '--', 'busybox', 'sh', '-c', 'busybox ip -6 -o addr show dev eth0 scope global; busybox ip -6 route show default')
  if (!/inet6 fd4c:6162:/.test(check) || !/^default via fd4c:6162:/m.test(check)) throw new Error(`the dual-stack sandbox has no v6 address or route:\n${check}`)
  lab('network', 'ls') // the default bridge made before timing
  const run = (net) => `env LAB_STATE_DIR=${state} nsenter --net=/run/netns/${NS} ${process.execPath} -- ${LAB} sandbox run --network ${net} -- true`
  const means = hyperfine('network-ipv6', {'bridge (v4)': run('bridge'), 'user network (v4)': run('v4'), 'dual-stack (--ipv6)': run('dual')}, {runs: Number(process.env.BENCH_RUNS ?? 20), warmup: 3})
  report('network-ipv6', means, [
    {what: 'dual-stack vs v4 network', ratio: means['dual-stack (--ipv6)'] / means['user network (v4)'], target: 1.1},
    {what: 'dual-stack vs bridge', ratio: means['dual-stack (--ipv6)'] / means['bridge (v4)']},
    {what: 'v4 network vs bridge', ratio: means['user network (v4)'] / means['bridge (v4)']},
  ])
} finally {
  try {
    const ids = lab('sandbox', 'ps', '-aq', '--no-trunc').split('\n').filter(Boolean)
    if (ids.length) lab('sandbox', 'rm', '-f', ...ids)
    lab('network', 'rm', 'v4', 'dual')
  } catch {}
  spawnSync('ip', ['netns', 'del', NS])
  rmSync(state, {recursive: true, force: true})
  rmSync(hostDir, {recursive: true, force: true})
}
