// Bad input to networks: one line that says what is wrong and how to fix it, a non-zero
// exit, and nothing made. Parsing needs no privileges; the rest runs in a namespace.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot} from '../helpers.mjs'
import {parseExposed, parsePublish} from '../../dist/network/ports.js'
import {parseCidr} from '../../dist/network/cidr.js'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('network bad input')
const can = isRoot && haveNetTools()
let N

t.before(async () => {
  if (!can) return
  N = new TestNetns('bad')
  const r = await N.lab(['network', 'create', '--subnet', '10.94.0.0/24', 'app'])
  assert.is(r.code, 0, r.stderr)
})

t.after(async () => {
  if (N) await N.cleanup()
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

function oneLine(r, pattern) {
  assert.is.not(r.code, 0, 'a non-zero exit')
  const lines = r.stderr.trim().split('\n')
  assert.is(lines.length, 1, r.stderr)
  assert.match(lines[0], pattern)
  assert.match(lines[0], /\(.+\)$/, 'with a hint')
}

t('-p forms as Docker has them', () => {
  assert.equal(parsePublish('80'), [{hostIp: '0.0.0.0', hostPort: 0, port: 80, proto: 'tcp'}])
  assert.equal(parsePublish('8080:80/udp'), [{hostIp: '0.0.0.0', hostPort: 8080, port: 80, proto: 'udp'}])
  assert.equal(parsePublish('127.0.0.1::80'), [{hostIp: '127.0.0.1', hostPort: 0, port: 80, proto: 'tcp'}])
  assert.equal(parsePublish('127.0.0.1:8000-8001:80-81').map((p) => [p.hostPort, p.port]), [[8000, 80], [8001, 81]])
  assert.equal(parseExposed('53/udp'), [{hostIp: '0.0.0.0', hostPort: 0, port: 53, proto: 'udp'}])
  for (const bad of ['0', '70000', '80/sctpx', 'a:b:c:d', '1.2.3:80:80', '8000-8002:80-81', ':80']) assert.throws(() => parsePublish(bad), /-p/)
  assert.throws(() => parseCidr('10.0.0.1/24'), /host bits/)
  assert.throws(() => parseCidr('10.0.0.0/33'), /not an IPv4 subnet/)
})

test('an overlapping subnet is refused', async () => {
  oneLine(await N.lab(['network', 'create', '--subnet', '10.94.0.128/25', 'again']), /subnet 10\.94\.0\.128\/25 overlaps network app/)
  oneLine(await N.lab(['network', 'create', '--subnet', '10.88.5.0/24', 'again']), /overlaps network bridge/)
  oneLine(await N.lab(['network', 'create', 'app']), /network app already exists/)
  oneLine(await N.lab(['network', 'create', '--gateway', '10.95.1.1', '--subnet', '10.95.0.0/24', 'again']), /--gateway 10\.95\.1\.1 is not an address in 10\.95\.0\.0\/24/)
  oneLine(await N.lab(['network', 'create', 'bad/name']), /invalid network name/)
  oneLine(await N.lab(['network', 'create', '-o', 'com.example.nope=1', 'again']), /unknown --opt com\.example\.nope/)
  assert.not.match((await N.lab(['network', 'ls', '-q'])).stdout, /again/)
})

test('a host port in use is refused, by a process or by another sandbox', async () => {
  await N.tcpServer('0.0.0.0', 18600)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '-p', '18600:80', '--', 'true']), /host port 0\.0\.0\.0:18600\/tcp is already in use/)
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'holder', '--network', 'app', '-p', '18601:80', '--', 'sleep', '30'])
  assert.is(r.code, 0, r.stderr)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '-p', '127.0.0.1:18601:80', '--', 'true']), /18601\/tcp is already published by another sandbox/)
})

test('bad aliases, addresses and flags without a bridged network', async () => {
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '--network-alias', 'bad alias!', '--', 'true']), /invalid --network-alias "bad alias!"/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '--network-alias', '-x', '--', 'true']), /invalid --network-alias/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'bridge', '--network-alias', 'db', '--', 'true']), /--network-alias needs a user-defined network/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '--ip', '10.99.0.5', '--', 'true']), /--ip 10\.99\.0\.5 is not a free host address of network app/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '--ip', '10.94.0.1', '--', 'true']), /--ip 10\.94\.0\.1/)
  oneLine(await N.lab(['sandbox', 'run', '-p', '8080:80', '--', 'true']), /--publish needs a bridged network/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'nosuch', '--', 'true']), /no such network: nosuch/)
  oneLine(await N.lab(['sandbox', 'run', '--network', 'app', '--link', 'ghost:db', '--', 'true']), /--link ghost:db: no such sandbox: ghost/)
})

test('a network in use is not removed', async () => {
  oneLine(await N.lab(['network', 'rm', 'app']), /network app is in use by sandbox holder/)
  oneLine(await N.lab(['network', 'rm', 'bridge']), /the default network bridge cannot be removed/)
  oneLine(await N.lab(['network', 'rm', 'nosuch']), /no such network: nosuch/)
  assert.match((await N.lab(['network', 'ls', '-q'])).stdout, /^app$/m)
})

t.run()
