// Teardown: a loop of create/run/rm, a SIGKILLed CLI and a SIGKILLed supervisor leave no
// veth, address, nftables rule, lease or name server entry once the next command (or
// `lab system prune`) has run; `lab network rm` takes the bridge, tables and name server.
import {createSocket} from 'node:dgram'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('network teardown')
const can = isRoot && haveNetTools()
let N
let app
const CYCLES = 30

t.before(async () => {
  if (!can) return
  N = new TestNetns('down')
  const r = await N.lab(['network', 'create', '--subnet', '10.93.0.0/24', 'app'])
  assert.is(r.code, 0, r.stderr)
  app = JSON.parse((await N.lab(['network', 'inspect', 'app'])).stdout)[0]
})

t.after(async () => {
  if (N) await N.cleanup()
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

/** Asks the network's name server in the namespace for NAME: the address, or null. */
function resolve(name) {
  const code = `const s = require('dgram').createSocket('udp4')
const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...${JSON.stringify(name)}.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])])
s.on('message', (m) => { console.log(m.readUInt16BE(6) ? m.subarray(m.length - 4).join('.') : 'none'); process.exit(0) })
s.send(q, 53, ${JSON.stringify(app.gateway)})
setTimeout(() => { console.log('timeout'); process.exit(0) }, 3000)`
  return N.ns(process.execPath, ['-e', code]).stdout.trim()
}

/** What is left beyond the networks themselves (app's bridge, and lab0 once used). */
function leftovers() {
  const l = N.leftovers({bridges: [app.bridge, 'lab0'], tables: [`ip lab_${app.bridge.replace(/-/g, '_')}`, `bridge lab_${app.bridge.replace(/-/g, '_')}`, 'ip lab_lab0', 'bridge lab_lab0']})
  const rules = N.ns('nft', ['list', 'ruleset']).stdout
  return {...l, dnat: rules.split('\n').filter((x) => x.includes('dnat to')).map((x) => x.trim()), dns: l.dns.length === 1 ? [] : l.dns}
}

const clean = {links: [], addresses: [], tables: [], dns: [], leases: [], dnat: []}

test(`${CYCLES} cycles of run -d with a published port, then rm -f, and foreground runs`, async () => {
  for (let i = 0; i < CYCLES; i++) {
    if (i % 2) {
      const r = await N.lab(['sandbox', 'run', '--network', 'app', '--', 'busybox', 'sh', '-c', 'busybox ip -4 -o addr show eth0 >/dev/null && echo up'])
      assert.is(r.stdout, 'up\n', r.stderr)
      continue
    }
    const r = await N.lab(['sandbox', 'run', '-d', '--name', `c${i}`, '--network', 'app', '--network-alias', `alias${i}`, '-p', '127.0.0.1::8080', '--', 'sleep', '60'])
    assert.is(r.code, 0, r.stderr)
    if (i === 0) {
      assert.is(resolve('c0'), '10.93.0.2', 'a running sandbox is in the name server')
      assert.is(leftovers().dnat.length, 2, 'its port is published (prerouting and output)')
    }
    const rm = await N.lab(['sandbox', 'rm', '-f', `c${i}`])
    assert.is(rm.code, 0, rm.stderr)
  }
  assert.equal(leftovers(), clean)
  assert.is(resolve('c0'), 'none')
  assert.is(resolve(`alias${CYCLES - 2}`), 'none')
})

test('a SIGKILLed CLI: its sandbox, veth, port and name are gone after the next command', async () => {
  const cli = N.spawnLab(['sandbox', 'run', '--name', 'k1', '--network', 'app', '-p', '18500:80', '--', 'sleep', '60'])
  const up = await waitFor(() => resolve('k1') === '10.93.0.2' || null, 15_000, 200)
  assert.ok(up, 'k1 ran')
  assert.is(leftovers().dnat.length, 2)
  cli.kill('SIGKILL')
  // the supervisor ends the caller's sandbox; its namespace takes the veth with it
  assert.ok(await waitFor(() => N.leftovers({bridges: [app.bridge, 'lab0']}).links.length === 0, 10_000), 'the veth went with the sandbox')
  await N.lab(['network', 'ls'])
  assert.equal(leftovers(), clean)
  assert.is(resolve('k1'), 'none')
})

test('a SIGKILLed supervisor: nothing left after lab system prune', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'k2', '--network', 'app', '-p', '18501:80', '--', 'sleep', '60'])
  assert.is(r.code, 0, r.stderr)
  const sup = JSON.parse((await N.lab(['sandbox', 'inspect', 'k2'])).stdout)[0].State.SupervisorPid
  assert.ok(sup > 0)
  process.kill(sup, 'SIGKILL')
  assert.ok(await waitFor(() => N.leftovers({bridges: [app.bridge, 'lab0']}).links.length === 0, 10_000), 'the veth went with the sandbox')
  assert.is(resolve('k2'), 'none', 'a dead sandbox has no name')
  const p = await N.lab(['system', 'prune', '-f'])
  assert.is(p.code, 0, p.stderr)
  assert.equal(leftovers(), clean)
})

test('network rm takes the bridge, its tables and its name server', async () => {
  const r = await N.lab(['network', 'rm', 'app'])
  assert.is(r.code, 0, r.stderr)
  const l = N.leftovers({bridges: ['lab0'], tables: ['ip lab_lab0', 'bridge lab_lab0']})
  assert.equal(l, {links: [], addresses: [], tables: [], dns: [], leases: []})
})

t.run()
void createSocket
