#!/usr/bin/env node
// A rootless sandbox's published TCP port, reached from another host: the keeper's relay
// (src/sandbox-native/relay.c) against the same server run directly on the host, in the
// same session, same client, same path from the other host (a second namespace):
//   throughput  one connection sending 256 MiB to a server that discards it
//   connections 300 connections one after another, each answered with one byte
// The difference is the relay's cost (one splice per direction and a connection into the
// sandbox's namespace per client) plus pasta's namespace's loopback. Nothing leaves the
// two namespaces this benchmark makes. Needs root (to make the user and namespaces) and
// pasta. Writes bench/results/pasta-ports.json.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {need, report, ROOT} from './lib.mjs'

need('pasta', 'apt-get install passt')
if (process.getuid() !== 0) {
  console.error('bench: pasta-ports needs root (to run lab as an ordinary user in a namespace of its own)')
  process.exit(2)
}
const USER = 'lab-rootless'
if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER])
const uid = Number(execFileSync('id', ['-u', USER], {encoding: 'utf8'}))
const gid = Number(execFileSync('id', ['-g', USER], {encoding: 'utf8'}))
const NS = `labbench-pp${process.pid}`
const OUT = `${NS}-o`
const home = mkdtempSync('/tmp/lbpp.')
chownSync(home, uid, uid)
const LAB = join(ROOT, 'bin', 'run.js')
const TUN = '/dev/net/tun'
const tunMode = statSync(TUN).mode & 0o7777
const asUser = (...args) => execFileSync('nsenter', [`--net=/run/netns/${NS}`, 'runuser', '-u', USER, '--', 'env', `HOME=${home}`, `LAB_STATE_DIR=${home}/state`, process.execPath, '--', LAB, ...args], {encoding: 'utf8'})
const ip = (...a) => execFileSync('ip', a)
const MIB = Number(process.env.BENCH_MIB ?? 256)
const CONNS = Number(process.env.BENCH_CONNS ?? 300)
const ROUNDS = Number(process.env.BENCH_RUNS ?? 3)

// a sink on PORT (answers "ok" after the client's end) and a one-byte server on PORT+1
const SERVER = (port) => `const net=require('net');net.createServer((s)=>{s.on('data',()=>{});s.on('end',()=>s.end('ok'))}).listen(${port});net.createServer((s)=>s.end('x')).listen(${port + 1},()=>console.log('up'))`
// from the other host: seconds for MIB MiB, and for CONNS connections
const CLIENT = (port) => `const net=require('net');const b=Buffer.alloc(1<<20,7);let t=process.hrtime.bigint();const s=net.connect(${port},'192.0.2.1',()=>{let n=0;const more=()=>{while(n<${MIB}){n++;if(!s.write(b))return s.once('drain',more)}s.end()};more()});s.on('data',()=>{});s.on('end',()=>{const tp=Number(process.hrtime.bigint()-t)/1e9;t=process.hrtime.bigint();let i=0;const one=()=>{if(i++===${CONNS}){console.log(JSON.stringify({tp,conns:Number(process.hrtime.bigint()-t)/1e9}));return}const c=net.connect(${port + 1},'192.0.2.1');c.on('data',()=>{});c.on('end',one);c.on('error',(e)=>{console.error(e.code);process.exit(1)})};one()})`
const measure = (port) => JSON.parse(execFileSync('nsenter', [`--net=/run/netns/${OUT}`, process.execPath, '-e', CLIENT(port)], {encoding: 'utf8', timeout: 300_000}))

let direct
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
  ip('-n', OUT, 'link', 'set', 'lo', 'up')
  ip('-n', NS, 'route', 'add', 'default', 'via', '192.0.2.2')
  asUser('sandbox', 'run', '-d', '--name', 'sink', '--network', 'pasta', '-p', '18080:8080', '-p', '18081:8081', '--', 'node', '-e', SERVER(8080))
  // the server itself is nsenter's exec (no runuser in between), so a kill ends it
  direct = spawn('nsenter', [`--net=/run/netns/${NS}`, `--setuid=${uid}`, `--setgid=${gid}`, process.execPath, '-e', SERVER(28080)], {stdio: ['ignore', 'pipe', 'inherit']})
  await new Promise((resolve) => direct.stdout.once('data', resolve))
  for (let i = 0; i < 100 && !asUser('sandbox', 'logs', 'sink').includes('up'); i++) await new Promise((r) => setTimeout(r, 200))
  const sum = {relay: {tp: 0, conns: 0}, direct: {tp: 0, conns: 0}}
  for (let r = 0; r < ROUNDS; r++) {
    // alternated, so a change of the machine's load falls on both
    for (const [k, port] of [['relay', 18080], ['direct', 28080]]) {
      const m = measure(port)
      sum[k].tp += m.tp / ROUNDS
      sum[k].conns += m.conns / ROUNDS
    }
  }
  const means = {
    'relay, throughput (s per MiB)': sum.relay.tp / MIB, 'direct, throughput (s per MiB)': sum.direct.tp / MIB,
    'relay, connection (s)': sum.relay.conns / CONNS, 'direct, connection (s)': sum.direct.conns / CONNS,
  }
  report('pasta-ports', means, [
    {what: 'relay vs direct, time per MiB', ratio: sum.relay.tp / sum.direct.tp},
    {what: 'relay vs direct, time per connection', ratio: sum.relay.conns / sum.direct.conns},
  ], {mibPerSecondRelay: MIB / sum.relay.tp, mibPerSecondDirect: MIB / sum.direct.tp})
} finally {
  direct?.kill('SIGKILL')
  direct?.stdout.destroy()
  spawnSync('nsenter', [`--net=/run/netns/${NS}`, 'runuser', '-u', USER, '--', 'env', `HOME=${home}`, `LAB_STATE_DIR=${home}/state`, process.execPath, '--', LAB, 'sandbox', 'rm', '-f', 'sink'], {stdio: 'ignore'})
  spawnSync('ip', ['netns', 'del', NS])
  spawnSync('ip', ['netns', 'del', OUT])
  rmSync(home, {recursive: true, force: true})
  chmodSync(TUN, tunMode)
}
