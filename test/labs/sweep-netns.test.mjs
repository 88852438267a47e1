// The sweep after a killed lab run, across network namespaces: a lab run's bridges and
// firewall tables live in the namespace it ran in, so a lab run elsewhere (another test
// file, another netns) must leave its state directory to one there — it could not remove
// them, and once the directory is gone nothing could. A namespace that is gone took them
// with it: then any lab run drops the directory.
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {ROOT, rootTest} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'

const t = suite('labs: the stale-run sweep and network namespaces')
const DEAD_PID = 4194305 // past the kernel's pid_max: never a live owner
const sweepIn = (N) => N.ns(process.execPath, ['--input-type=module', '-e', `import {sweepStaleStateDirs} from ${JSON.stringify(join(ROOT, 'dist/labs/workdir.js'))}; console.log(JSON.stringify(await sweepStaleStateDirs()))`])

const test = (name, fn) => (haveNetTools() ? rootTest(t, name, fn) : t.skip(`${name} [skipped: needs ip and nsenter]`, fn))

test('a killed run of another namespace is left to that namespace; one of a namespace that is gone is dropped', async () => {
  const {sweepStaleStateDirs} = await import('../../dist/labs/workdir.js')
  const N = new TestNetns('sweepns')
  const dirs = []
  try {
    const ino = N.ns('stat', ['-L', '-c', '%i', '/proc/self/ns/net']).stdout.trim()
    assert.ok(/^\d+$/.test(ino), ino)
    const elsewhere = mkdtempSync('/tmp/lab-st-')
    writeFileSync(join(elsewhere, 'owner'), `${DEAD_PID} 1 ${ino}\n`)
    const gone = mkdtempSync('/tmp/lab-st-')
    writeFileSync(join(gone, 'owner'), `${DEAD_PID} 1 1\n`) // no namespace has inode 1
    dirs.push(elsewhere, gone)
    const here = await sweepStaleStateDirs()
    assert.ok(existsSync(elsewhere), 'the other namespace\'s run is left for a lab run there')
    assert.ok(here.includes(gone) && !existsSync(gone), 'a gone namespace\'s run is dropped here')
    const there = sweepIn(N)
    assert.is(there.code, 0, there.stderr)
    assert.ok(JSON.parse(there.stdout).includes(elsewhere) && !existsSync(elsewhere), there.stdout)
  } finally {
    for (const d of dirs) rmSync(d, {recursive: true, force: true})
    await N.cleanup()
  }
})

t.run()
