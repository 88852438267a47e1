// The lifecycle's cgroups on an injected root: a fake cgroup v2 tree in a temp dir (as
// test/cgroups/driver-fake does for the drivers), so what the lifecycle writes when it
// starts, hands over, pauses, reads and removes a sandbox's group is checked without a
// kernel. No root needed.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lifecycle} from '../../dist/sandbox/lifecycle.js'
import {parseLimits} from '../../dist/sandbox/limits.js'

const t = suite('lifecycle: cgroups on a fake tree')
const ID = 'e'.repeat(64)

function fakeTree() {
  const root = mkdtempSync(join(tmpdir(), 'lab-lc-fakecg-'))
  const files = {'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup.subtree_control': 'memory pids\n', 'lab/cgroup.subtree_control': 'memory pids\n', 'lab/cgroup.kill': ''}
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), {recursive: true})
    writeFileSync(join(root, p), content)
  }
  return root
}

t('fresh, hand over, pause, counters, remove: each written to the injected tree', async () => {
  const root = fakeTree()
  const ownerDir = mkdtempSync(join(tmpdir(), 'lab-lc-owners-'))
  const state = mkdtempSync(join(tmpdir(), 'lab-lc-state-'))
  try {
    const lc = lifecycle({stateDir: state, cgroup: {root, ownerDir}})
    const dir = join(root, 'lab', ID)
    const g = await lc.groups.fresh(ID, parseLimits({memory: '64m', pidsLimit: '50'}))
    assert.equal(g.paths, [dir])
    assert.is(readFileSync(join(dir, 'memory.max'), 'utf8').trim(), String(64 * 1024 * 1024))
    assert.is(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '50')
    assert.match(readFileSync(join(ownerDir, ID), 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`), 'this process owns it until the hand-over')
    assert.ok(lc.groups.open(ID), 'found by id')

    // the supervisor owns a detached sandbox's group: its pid and start time are recorded
    lc.groups.handOver(ID, process.ppid)
    assert.match(readFileSync(join(ownerDir, ID), 'utf8'), new RegExp(`^${process.ppid} \\d+\\n$`))

    // pause and unpause: the v2 freezer file
    writeFileSync(join(dir, 'cgroup.freeze'), '0')
    await lc.groups.setFrozen(ID, 'fake', true)
    assert.is(readFileSync(join(dir, 'cgroup.freeze'), 'utf8'), '1')
    assert.is(lc.groups.isFrozen(ID), true)
    await lc.groups.setFrozen(ID, 'fake', false)
    assert.is(lc.groups.isFrozen(ID), false)

    // live counters while the group exists
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n')
    writeFileSync(join(dir, 'pids.events'), 'max 2\n')
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 300\nuser_usec 200\nsystem_usec 100\n')
    const live = await lc.groups.stats(ID, undefined)
    assert.is(live.oomKills, 1)
    assert.is(live.pidsLimitHits, 2)
    assert.is(live.cpuUserUs, 200)

    // removed: the group and its owner record; then only the supervisor's final counters tell
    for (const f of readdirSync(dir)) unlinkSync(join(dir, f)) // a real group empties itself on rmdir
    await lc.groups.remove(ID)
    assert.not.ok(existsSync(dir), 'the group is gone')
    assert.not.ok(existsSync(join(ownerDir, ID)), 'its owner record too')
    assert.is(lc.groups.open(ID), null)
    const final = await lc.groups.stats(ID, {[join(dir, 'memory.events')]: 'oom_kill 3\n', [join(dir, 'pids.events')]: 'max 0\n'})
    assert.is(final.oomKills, 3, 'the final counters the supervisor kept')
  } finally {
    for (const d of [root, ownerDir, state]) rmSync(d, {recursive: true, force: true})
  }
})

t('pause without a freezer is a one-line error naming lab doctor', async () => {
  const state = mkdtempSync(join(tmpdir(), 'lab-lc-state-'))
  const root = fakeTree()
  try {
    const lc = lifecycle({stateDir: state, cgroup: {root, ownerDir: state}})
    try {
      await lc.groups.setFrozen(ID, 'ghost', true)
      assert.unreachable('no group, no freezer')
    } catch (e) {
      assert.is(e.code, 'no-freezer')
      assert.match(e.message, /cannot pause ghost/)
      assert.match(e.hint, /lab doctor/)
    }
  } finally {
    rmSync(state, {recursive: true, force: true})
    rmSync(root, {recursive: true, force: true})
  }
})

t.run()
