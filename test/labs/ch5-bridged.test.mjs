// The ch5-network lab's bridged steps (reaching out, -p, names, ICC off, links) run in a
// network namespace of the test's own, through the CLI (nsenter --net), so the lab's
// bridges, firewall tables, published ports and name servers live there: the walkthrough
// passes, wrong answers fail with their hints, and afterwards — also after a lab run that
// was SIGKILLed — no network, veth, address, nftables table or process is left in it.
import {mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, chmodSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {ROOT, rootTest} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'

const t = suite('labs: ch5-network, the bridged archetype')
const BRIDGED = ['bridged', 'publish', 'names', 'icc', 'links']

/** Wrong answers: the check that must fail, and words its hint must contain. */
const WRONG = [
  {step: 'bridged', file: '06-reach.cmd', answer: `lab sandbox run -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://10.88.0.1:8088/', timeout=3).status)"`, check: 'your sandbox reached the server on the host side (200)', hint: '--network bridge'},
  {step: 'publish', file: '07-publish.cmd', answer: 'lab sandbox run -d --name pub --network bridge -p 18000:8000 -- python3 -u -m http.server 8000 --directory /tmp', check: 'pub\'s port 8000 is published on 127.0.0.1:18000', hint: '-p 127.0.0.1:18000:8000'},
  {step: 'names', file: '08-alias.cmd', answer: `lab sandbox run --network bridge -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://docs:8080/', timeout=3).status)"`, check: 'your sandbox reached the server by its alias docs (200)', hint: '--network dogs'},
  {step: 'icc', file: '09-quiet.cmd', answer: 'lab network create quiet', check: 'but cannot connect to it', hint: 'enable_icc=false'},
  {step: 'links', file: '10-link.cmd', answer: `lab sandbox run --network bridge -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://database:8080/', timeout=3).status)"`, check: 'your sandbox reached db as database (200)', hint: '--link db:database'},
]

/** Processes whose network namespace is the test's: sandboxes, supervisors, name servers. */
function processesIn(N) {
  const want = `net:[${statSync(`/run/netns/${N.name}`).ino}]`
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/ns/net`) === want
    } catch {
      return false
    }
  }).map((p) => {
    try {
      return `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ').slice(0, 120)}`
    } catch {
      return p
    }
  })
}

/** Everything a lab run may leave in the namespace: it must be nothing at all (lab0 included). */
async function assertNothingLeft(N, what) {
  // a veth goes with its sandbox's namespace, which the kernel frees a moment after the sandbox ends
  let left = N.leftovers()
  for (let i = 0; i < 40 && left.links.length; i++) {
    await new Promise((r) => setTimeout(r, 100))
    left = N.leftovers()
  }
  assert.equal({links: left.links, addresses: left.addresses, tables: left.tables}, {links: [], addresses: [], tables: []}, `${what}: no bridge, veth, address or nftables table is left`)
  assert.equal(processesIn(N), [], `${what}: no sandbox, supervisor or name server is left in the namespace`)
}

const summary = (o) => JSON.stringify(o.steps.map((s) => ({id: s.id, status: s.status, failed: s.checks.filter((c) => !c.passed), errors: s.actions.filter((a) => a.error)})), null, 1)

const can = haveNetTools()
const netTest = (name, fn) => (can ? rootTest(t, name, fn) : t.skip(`${name} [skipped: needs ip, nft, nsenter and busybox]`, fn))

netTest('the bridged walkthrough passes in a namespace of the test\'s own and leaves nothing in it', async () => {
  const N = new TestNetns('ch5lab')
  const hostLinks = readdirSync('/sys/class/net').sort()
  try {
    for (const step of BRIDGED) {
      const r = await N.lab(['run', 'ch5-network', '--step', step, '--json'], {timeout: 90_000})
      const o = JSON.parse(r.stdout)
      assert.is(o.steps[0].status, 'passed', summary(o))
      assert.is(r.code, 0, r.stderr)
      await assertNothingLeft(N, `after step ${step}`)
    }
    assert.equal(readdirSync('/sys/class/net').sort(), hostLinks, 'the host\'s own interfaces are unchanged')
  } finally {
    await N.cleanup()
  }
})

netTest('wrong answers fail with their hints, in the namespace, and leave nothing', async () => {
  const N = new TestNetns('ch5ex')
  const dir = mkdtempSync(join(tmpdir(), 'labex-'))
  chmodSync(dir, 0o711)
  try {
    for (const w of WRONG) {
      writeFileSync(join(dir, w.file), w.answer + '\n')
      const r = await N.lab(['check', 'ch5-network', '--step', w.step, '--dir', dir, '--json'], {timeout: 90_000})
      assert.is(r.code, 1, r.stdout + r.stderr)
      const o = JSON.parse(r.stdout)
      const c = o.steps[0].checks.find((x) => x.name === w.check)
      assert.ok(c, `no check named ${w.check}: ${summary(o)}`)
      assert.is(c.passed, false, `${w.file}: ${summary(o)}`)
      assert.ok(c.hint.includes(w.hint), c.hint)
    }
    await assertNothingLeft(N, 'after the wrong answers')
  } finally {
    rmSync(dir, {recursive: true, force: true})
    await N.cleanup()
  }
})

netTest('a lab run SIGKILLed with its network, server and name server up leaves nothing after the next lab run', async () => {
  const N = new TestNetns('ch5kill')
  try {
    const child = N.spawnLab(['run', 'ch5-network', '--step', 'names', '--json'])
    // killed once the network's name server is up and the server's veth is on its bridge
    // (the sandbox itself is in a namespace of its own; its supervisor is in this one)
    const end = Date.now() + 60_000 // two lab runs' worth on a loaded machine
    while (!processesIn(N).some((p) => p.includes('dns-server')) || N.leftovers().links.length < 2) {
      assert.ok(Date.now() < end, `the lab did not get that far: ${processesIn(N).join('; ')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    child.kill('SIGKILL')
    await new Promise((r) => child.once('close', r))
    assert.ok(N.leftovers().links.length > 0, 'the killed run left its bridge behind (the test kills it at the right moment)')
    // the next lab run sweeps what a killed one left: its sandboxes, then its networks
    const r = await N.lab(['run', 'ch5-network', '--step', 'hostname', '--json'], {timeout: 60_000})
    assert.is(r.code, 0, r.stdout + r.stderr)
    await assertNothingLeft(N, 'after the sweep')
  } finally {
    await N.cleanup()
  }
})

t.run()
