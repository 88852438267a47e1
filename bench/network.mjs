#!/usr/bin/env node
// Bridged networks, measured against peers in the same session, all inside a network
// namespace this benchmark makes (and removes): nothing is sent beyond it.
//   start-up   `lab sandbox run --network bridge|NAME -- true` vs `--network none` (target ≤ 1.5×);
//              lab's network overhead (bridge − none) vs netavark alone, setup + teardown of
//              one container namespace (target ≤ 0.5×), when netavark is installed
//   throughput sandbox→sandbox over a bridge vs the host's loopback (target ≥ 0.8×), at
//              MTU 1500 and 65520; through a published port vs straight to the sandbox (≥ 0.7×)
// Needs root, hyperfine, python3. Writes bench/results/network.json.
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {hyperfine, need, RESULTS, ROOT} from './lib.mjs'

need('hyperfine', 'apt-get install hyperfine')
need('python3', 'apt-get install python3')
if (process.getuid() !== 0) {
  console.error('bench: network needs root (bridges, nftables)')
  process.exit(2)
}
const NS = `labbench-${process.pid}`
// short: the control sockets below it must fit a unix socket's path
const state = mkdtempSync(join(tmpdir(), 'lbn-'))
const env = {...process.env, LAB_STATE_DIR: state}
const LAB = join(ROOT, 'bin', 'run.js')
const inNs = (cmd, args, opts = {}) => execFileSync('nsenter', [`--net=/run/netns/${NS}`, cmd, ...args], {env, encoding: 'utf8', ...opts})
const lab = (...args) => inNs(process.execPath, ['--', LAB, ...args]).trim()
const NETAVARK = ['/usr/lib/podman/netavark', '/usr/libexec/podman/netavark'].find((p) => existsSync(p))
const TOTAL = Number(process.env.BENCH_NET_BYTES ?? 1 << 30)

// a sink that reads everything and answers with the count; a source that sends TOTAL bytes
const SINK = `import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 5001)); s.listen(8)
buf = bytearray(1 << 20)
while True:
    c, _ = s.accept(); n = 0
    while True:
        k = c.recv_into(buf)
        if not k: break
        n += k
    c.sendall(str(n).encode()); c.close()`
const SOURCE = `import socket, sys, time
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
chunk = b'\\0' * (1 << 20)
c = socket.create_connection((host, port)); t = time.perf_counter(); sent = 0
while sent < total:
    c.sendall(chunk); sent += len(chunk)
c.shutdown(socket.SHUT_WR); got = int(c.recv(64)); dt = time.perf_counter() - t
assert got == sent, (got, sent)
print(sent * 8 / dt / 1e9)`

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
/** Gbit/s: the median of three runs of SOURCE, on the namespace's host side or in a sandbox */
function rate(where, host, port) {
  const out = []
  for (let i = 0; i < 3; i++) {
    const argv = ['python3', '-c', SOURCE, host, String(port), String(TOTAL)]
    out.push(Number(where === 'host' ? inNs(argv[0], argv.slice(1)) : lab('sandbox', 'run', '--network', where, '--', ...argv)))
  }
  return median(out)
}

const result = {date: new Date().toISOString(), bytesPerRun: TOTAL}
execFileSync('ip', ['netns', 'add', NS])
try {
  inNs('ip', ['link', 'set', 'lo', 'up'])
  lab('network', 'create', '--subnet', '10.96.0.0/24', '-o', 'com.docker.network.driver.mtu=1500', 'app')
  lab('network', 'create', '--subnet', '10.96.1.0/24', 'jumbo') // the default MTU, 65520

  // --- start-up
  const run = (net) => `env LAB_STATE_DIR=${state} nsenter --net=/run/netns/${NS} ${process.execPath} -- ${LAB} sandbox run --network ${net} -- true`
  const commands = {'none': run('none'), 'bridge': run('bridge'), 'user network': run('app')}
  let nv
  if (NETAVARK) {
    const dir = mkdtempSync(join(tmpdir(), 'lab-bench-nv-'))
    const cfg = join(dir, 'net.json')
    writeFileSync(cfg, JSON.stringify({
      container_id: 'a'.repeat(64), container_name: 'bench', networks: {nvbench: {interface_name: 'eth0', static_ips: ['10.96.9.5']}},
      network_info: {nvbench: {name: 'nvbench', id: 'b'.repeat(64), driver: 'bridge', network_interface: 'labnv0', subnets: [{subnet: '10.96.9.0/24', gateway: '10.96.9.1'}], ipv6_enabled: false, internal: false, dns_enabled: false}},
      port_mappings: [],
    }))
    nv = dir
    const target = `${NS}-nv`
    commands['netavark alone'] = `sh -c 'ip netns add ${target} && nsenter --net=/run/netns/${NS} ${NETAVARK} --config ${dir}/c -f ${cfg} setup /run/netns/${target} >/dev/null && nsenter --net=/run/netns/${NS} ${NETAVARK} --config ${dir}/c -f ${cfg} teardown /run/netns/${target}; ip netns del ${target}'`
    commands['ip netns add+del'] = `sh -c 'ip netns add ${target}-e && ip netns del ${target}-e'`
  }
  const means = hyperfine('network-startup', commands, {runs: Number(process.env.BENCH_RUNS ?? 20), warmup: 3})
  if (nv) rmSync(nv, {recursive: true, force: true})
  result.startupMeansSeconds = means
  result.ratios = [
    {what: 'bridge vs none', ratio: means.bridge / means.none, target: 1.5, better: 'lower'},
    {what: 'user network vs none', ratio: means['user network'] / means.none, target: 1.5, better: 'lower'},
  ]
  if (means['netavark alone']) {
    // the plumbing alone: lab's extra time on a bridge against netavark's setup + teardown
    const nvOnly = means['netavark alone'] - means['ip netns add+del']
    result.ratios.push({what: 'lab network overhead vs netavark', ratio: (means.bridge - means.none) / nvOnly, target: 0.5, better: 'lower'})
  }

  // --- throughput
  lab('sandbox', 'run', '-d', '--name', 'sink', '--network', 'app', '-p', '127.0.0.1:15001:5001', '--', 'python3', '-c', SINK)
  lab('sandbox', 'run', '-d', '--name', 'jsink', '--network', 'jumbo', '--', 'python3', '-c', SINK)
  const hostSink = spawnSync('sh', ['-c', `nsenter --net=/run/netns/${NS} python3 -c "$0" >/dev/null 2>&1 </dev/null & echo $!`, SINK], {encoding: 'utf8'}).stdout.trim()
  const sinkIp = JSON.parse(lab('sandbox', 'inspect', 'sink'))[0].NetworkSettings.Networks.app.IPAddress
  await new Promise((r) => setTimeout(r, 1000))
  const g = {
    loopback: rate('host', '127.0.0.1', 5001),
    'sandbox→sandbox 1500': rate('app', 'sink', 5001),
    'sandbox→sandbox 65520': rate('jumbo', 'jsink', 5001),
    'host→sandbox direct': rate('host', sinkIp, 5001),
    'host→published port': rate('host', '127.0.0.1', 15001),
  }
  try {
    process.kill(Number(hostSink), 'SIGKILL')
  } catch {}
  result.throughputGbps = g
  result.ratios.push(
    {what: 'bridge (1500) vs loopback', ratio: g['sandbox→sandbox 1500'] / g.loopback, target: 0.8, better: 'higher'},
    {what: 'bridge (65520) vs loopback', ratio: g['sandbox→sandbox 65520'] / g.loopback, target: 0.8, better: 'higher'},
    {what: 'published vs direct', ratio: g['host→published port'] / g['host→sandbox direct'], target: 0.7, better: 'higher'},
  )
  console.log('\n== network')
  for (const [k, v] of Object.entries(means)) console.log(`  ${k.padEnd(34)} ${(v * 1000).toFixed(1)} ms`)
  for (const [k, v] of Object.entries(g)) console.log(`  ${k.padEnd(34)} ${v.toFixed(2)} Gbit/s`)
  for (const r of result.ratios) {
    const met = r.better === 'lower' ? r.ratio <= r.target : r.ratio >= r.target
    console.log(`  ${r.what.padEnd(34)} ${r.ratio.toFixed(2)}×  (target ${r.better === 'lower' ? '≤' : '≥'} ${r.target}: ${met ? 'met' : 'MISSED'})`)
  }
} finally {
  try {
    const ids = lab('sandbox', 'ps', '-aq', '--no-trunc').split('\n').filter(Boolean)
    if (ids.length) lab('sandbox', 'rm', '-f', ...ids)
    lab('network', 'rm', 'app', 'jumbo')
  } catch {}
  spawnSync('ip', ['netns', 'del', NS])
  rmSync(state, {recursive: true, force: true})
}
mkdirSync(RESULTS, {recursive: true})
writeFileSync(join(RESULTS, 'network.json'), JSON.stringify(result, null, 2) + '\n')
