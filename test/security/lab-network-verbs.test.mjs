// Attacks on the host's networks through a lab's network verbs (a lab's `command:` or a
// student's answer), and the defences: a lab's networks are named for the lab and live in
// its own state directory, so it can neither name, remove nor join the user's; it may not
// pick the host's bridge by name; the default bridge lab0, which every state directory
// shares, can't be removed; and a lab's sandbox on lab0 leaves the user's addresses and
// published ports alone (test/network/shared-bridge.test.mjs proves that part for real).
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {confineVerbArgs, splitVerb} from '../../dist/labs/verbs.js'
import {refusedWith} from './verb-refusal.mjs'
import {isRoot} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'

const t = suite('security: network verbs in labs')
const ctx = () => ({work: '/nonexistent', where: 'answer.cmd', writable: [], sandboxName: (n) => `lab1-${n}`, networkName: (n) => (['bridge', 'host', 'none', 'default'].includes(n) ? n : `lab1-${n}`)})
const refused = refusedWith(ctx)

t('attack: remove, inspect or join the user\'s network by its name → the name becomes the lab\'s own', async () => {
  assert.equal(await confineVerbArgs('network rm', ['app', 'db'], ctx()), ['lab1-app', 'lab1-db'])
  assert.equal(await confineVerbArgs('network inspect', ['app'], ctx()), ['lab1-app'])
  assert.equal(await confineVerbArgs('network connect', ['app', 'web'], ctx()), ['lab1-app', 'lab1-web'])
  assert.equal(await confineVerbArgs('network disconnect', ['app', 'web'], ctx()), ['lab1-app', 'lab1-web'])
  assert.equal(await confineVerbArgs('network create', ['--internal', 'app'], ctx()), ['--internal', 'lab1-app'])
})

t('attack: create a network on the host\'s own bridge (lab0, docker0, the user\'s) by name → refused', async () => {
  await refused('network create', ['-o', 'com.docker.network.bridge.name=lab0', 'x'], /a bridge name is shared by the whole host/)
  await refused('network create', ['--opt=com.docker.network.bridge.name=labdev0', 'x'], /a bridge name is shared by the whole host/)
})

t('attack: reach the user\'s networks through --state-dir, or a network verb outside the table → refused', async () => {
  await refused('network ls', ['--state-dir', '/var/lib/lab'], /--state-dir is not available in labs/)
  await refused('network rm', ['--state-dir=/var/lib/lab', 'app'], /--state-dir is not available in labs/)
  assert.throws(() => splitVerb(['network', 'evil'], 'answer.cmd'), /is not a verb labs run/)
})

// `network ls` makes the default bridge as Docker's docker0 is there from the start: in a
// network namespace of the test's own, so the host's is never touched
const netTest = (name, fn) => (isRoot && haveNetTools() ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

netTest('attack: remove the default bridge every state directory shares → refused with a one-line error', async () => {
  assert.equal(await confineVerbArgs('network rm', ['bridge'], ctx()), ['bridge'])
  const N = new TestNetns('netsec')
  try {
    await N.lab(['network', 'ls'])
    // by name, and by its id (which the command's own check of the name does not see)
    for (const ref of ['bridge', '0000000000']) {
      const r = await N.lab(['network', 'rm', ref])
      assert.is.not(r.code, 0)
      assert.match(r.stderr, /the default network bridge cannot be removed/)
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
    }
  } finally {
    await N.cleanup()
  }
})

t.run()
