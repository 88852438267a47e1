// readState and a supervisor that ends between two looks: it writes its final status,
// then exits. A reader that saw "running" and then finds the supervisor gone must read
// the status again before it records the sandbox as killed with its supervisor (137).
import {mkdtempSync, readFileSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {readState} from '../../dist/sandbox/lifecycle/state.js'

const t = suite('lifecycle: state read against a supervisor that just ended')
const dir = mkdtempSync(join(tmpdir(), 'lab-state-race-'))
t.after(() => rmSync(dir, {recursive: true, force: true}))

// a pid that is certainly not running: past the kernel's pid_max
const DEAD = 4194305
const running = {state: 'running', pid: DEAD + 1, supervisorPid: DEAD, supervisorStart: 1, startedAt: 1, finishedAt: 0, exitCode: 0, signal: 0, killedBy: null, restartCount: 0, manualStop: false, error: null}
const exited = {...running, state: 'exited', pid: 0, finishedAt: 2, exitCode: 0}
const rec = {id: 'a'.repeat(64), name: 'quick', everStarted: true}
const groups = {isFrozen: () => false}

function storeOf(statuses) {
  const runDir = join(dir, String(statuses.length) + Math.random())
  mkdirSync(runDir)
  // the last one stays: what the file holds from then on
  return {status: () => (statuses.length > 1 ? statuses.shift() : statuses[0]), runDir: () => runDir}
}

t('running, then the supervisor gone with its final status written: the sandbox exited as it said (0), not killed', () => {
  const st = readState(storeOf([running, exited]), groups, rec)
  assert.is(st.status, 'exited')
  assert.is(st.exitCode, 0)
  assert.is(st.killedBy, null)
})

t('running, and still running once the supervisor is gone: it died, and that is recorded (137, supervisor-died)', () => {
  const store = storeOf([running, running])
  const st = readState(store, groups, rec)
  assert.is(st.status, 'exited')
  assert.is(st.exitCode, 137)
  assert.is(st.killedBy, 'supervisor-died')
  assert.is(JSON.parse(readFileSync(join(store.runDir(), 'status.json'), 'utf8')).killedBy, 'supervisor-died')
})

t.run()
