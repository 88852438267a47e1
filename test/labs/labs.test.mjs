// Every shipped lab: its walkthrough passes on this engine, every exercise passes with the
// reference solution, and an empty or a wrong answer fails with the right hint. The
// outcomes are checked from inside the sandboxes by the labs' own checks (EROFS on a
// read-only bind, the file a sandbox wrote on the host, PID 1, …).
import {chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {spawn} from 'node:child_process'

import {LAB, lab, processesMatching, rootTest, waitFor} from '../helpers.mjs'
import {listLabDirs, loadLab} from '../../dist/labs/load.js'
import {runLab} from '../../dist/labs/runner.js'
import {makeWalkthroughDir, ensureExerciseDir} from '../../dist/labs/workdir.js'

const t = suite('labs: walkthroughs and exercises')

/** Wrong answers: the check that must fail, and a word its hint must contain. */
const WRONG = {
  'ch4-volumes': [
    {file: '01-bind.cmd', answer: `lab sandbox run -v "$PWD/docs:/srv/htdocs:ro" -- sh -c 'echo visited >> /srv/htdocs/visits.log'`, check: 'docs/visits.log on the host holds "visited"', hint: '-v "$PWD/docs:/srv/htdocs"'},
    {file: '02-deface.cmd', answer: `lab sandbox run -v "$PWD/docs:/srv/htdocs" -- sh -c 'echo hacked > /srv/htdocs/defaced.html'`, check: 'creating defaced.html fails with EROFS', hint: ':ro'},
    {file: '03-reader.cmd', answer: `lab sandbox run -v "$PWD/logs:/towatch:ro" -- head -n 3 /towatch/logA`, check: 'only the first two entries', hint: 'head -n 2'},
  ],
  'ch5-network': [
    {file: '01-loopback.cmd', answer: `lab sandbox run -- python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/')"`, check: 'your server and client talked over loopback', hint: 'start the server in the background'},
    {file: '03-hostname.cmd', answer: `lab sandbox run -- hostname`, check: 'your sandbox is called barker', hint: '--hostname barker'},
    {file: '04-add-host.cmd', answer: `lab sandbox run --add-host docker.test:10.0.0.1 -- getent hosts docker.test`, check: 'docker.test resolves to 127.0.0.1', hint: '--add-host docker.test:127.0.0.1'},
  ],
  'ch2-containers': [
    {file: '02-pid.cmd', answer: `lab sandbox run -- sh -c 'echo $PPID'`, check: 'your program is PID 1', hint: "sh -c 'echo $$'"},
    {file: '04-lock.cmd', answer: `lab sandbox run -- sh -c 'echo locked > /run/lock/app.lock && cat /run/lock/app.lock'`, check: 'your program wrote its lock file', hint: '--tmpfs /run/lock'},
    {file: '06-flaky.cmd', answer: `lab sandbox run -d --name flaky -- sh -c 'echo trying; exit 1'`, check: 'your flaky sandbox was restarted exactly twice', hint: '--restart on-failure:2'},
  ],
  'ch6-isolation': [
    {file: '05-user.cmd', answer: `lab sandbox run -u 10000 -- id`, check: 'and as gid 20000', hint: '-u 10000:20000'},
    {file: '07-chown.cmd', answer: `lab sandbox run --tmpfs /tmp -- sh -c 'touch /tmp/f && chown 1:1 /tmp/f && stat -c %u /tmp/f'`, check: 'your chown succeeded', hint: '--cap-add CHOWN'},
    {file: '08-no-chmod.cmd', answer: `lab sandbox run --tmpfs /tmp -- sh -c 'touch /tmp/f && chmod 600 /tmp/f'`, check: 'under lab-no-chmod, chmod fails with EPERM', hint: 'seccomp=lab-no-chmod'},
  ],
  'limits-and-security': [
    {file: '02-tight.cmd', answer: `lab sandbox run --memory 512m -v "$PWD/stress:/stress:ro" -- python3 /stress/stress.py --vm 1 --vm-bytes 128M --timeout 0.3`, check: 'your run ended with the memory verdict', hint: '--memory 100m'},
    {file: '05-port80.cmd', answer: `lab sandbox run --cap-add NET_RAW -- python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); print('bound to port 80')"`, check: 'your program bound port 80', hint: '--cap-add NET_BIND_SERVICE'},
  ],
}

/** Lifecycle state directories (private to one lab run) that belong to this test process. */
function ownStateDirs() {
  return readdirSync('/tmp').filter((n) => n.startsWith('lab-st-')).filter((n) => {
    try {
      return readFileSync(join('/tmp', n, 'owner'), 'utf8').split(' ')[0] === String(process.pid)
    } catch {
      return false
    }
  })
}

const walkDirsBefore = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`lab-walk-${process.pid}-`))

async function exerciseRun(l, step, answer) {
  const parent = mkdtempSync(join(tmpdir(), 'labex-'))
  chmodSync(parent, 0o711) // the sandbox's root is unprivileged on the host: let it reach the bind sources
  const dir = join(parent, 'work')
  ensureExerciseDir(l, dir)
  if (answer !== undefined) writeFileSync(join(dir, step.exercise.file), answer)
  try {
    return await runLab(l, {mode: 'exercise', workDir: dir, removeWorkDir: false, steps: [step]})
  } finally {
    rmSync(join(dir, '..'), {recursive: true, force: true})
  }
}

/** Labs whose walkthrough and exercises test/labs/image-labs.test.mjs (ch3, ch7) and
 * build-labs.test.mjs (ch8, build-smart) cover (their answers are `lab image …` commands
 * or Dockerfiles, and each step imports an image: one file each keeps their time in check). */
const COVERED_ELSEWHERE = new Set(['ch3-images', 'ch7-packaging', 'ch8-dockerfile', 'build-smart'])
/** Steps on bridged networks make bridges, firewall tables and ports: they run only in a
 * network namespace of their test's own (test/labs/ch5-bridged.test.mjs), never here. */
const inOwnNetns = (s) => s.needs.includes('bridged-networks')

for (const labDir of listLabDirs().filter((d) => !COVERED_ELSEWHERE.has(d.split('/').pop()))) {
  const id = labDir.split('/').pop()

  rootTest(t, `${id}: the walkthrough passes (unavailable steps say why) and leaves nothing behind`, async () => {
    const l = await loadLab(labDir)
    const o = await runLab(l, {mode: 'walkthrough', workDir: makeWalkthroughDir(l), removeWorkDir: true, steps: l.steps.filter((s) => !inOwnNetns(s))})
    const failed = o.steps.filter((s) => s.status === 'failed')
    assert.is(failed.length, 0, JSON.stringify(failed, null, 1))
    assert.ok(o.counts.passed >= 1, 'at least one step runs on this engine')
    for (const s of o.steps.filter((x) => x.status === 'unavailable')) assert.match(s.reason, /needs .* which this (engine \(or the lab runner\) does not have yet|host cannot provide: .+)/)
    assert.equal(walkDirsBefore(), [], 'the work directory is removed')
    assert.equal(ownStateDirs(), [], 'the private lifecycle state (sandboxes, logs, volumes) is removed')
  })

  rootTest(t, `${id}: every exercise passes with the reference solution and fails without an answer`, async () => {
    const l = await loadLab(labDir)
    for (const step of l.steps.filter((s) => s.exercise && !s.unavailable && !inOwnNetns(s))) {
      const sol = (await import('node:fs')).readFileSync(join(labDir, 'solution', step.exercise.file), 'utf8')
      const good = await exerciseRun(l, step, sol)
      assert.is(good.status, 'passed', `${step.id} with the solution: ${JSON.stringify(good.steps[0], null, 1)}`)
      for (const empty of [undefined, '']) {
        const bad = await exerciseRun(l, step, empty)
        assert.is(bad.status, 'failed', `${step.id} without an answer`)
        const s = bad.steps[0]
        assert.ok(s.actions.some((a) => a.error && /does not exist|has no command/.test(a.error) && /write your `lab sandbox run …` command/.test(a.hint)), JSON.stringify(s.actions))
        assert.ok(s.checks.some((c) => !c.passed && c.hint), `${step.id}: a failing check shows its hint`)
      }
    }
  })

  for (const w of WRONG[id] ?? []) {
    rootTest(t, `${id}: a wrong ${w.file} fails "${w.check}" with its hint`, async () => {
      const l = await loadLab(labDir)
      const step = l.steps.find((s) => s.exercise?.file === w.file)
      const o = await exerciseRun(l, step, w.answer + '\n')
      assert.is(o.status, 'failed')
      const c = o.steps[0].checks.find((x) => x.name === w.check)
      assert.ok(c, `no check named ${w.check}`)
      assert.is(c.passed, false, JSON.stringify(o.steps[0].checks))
      assert.ok(c.hint.includes(w.hint), c.hint)
    })
  }
}

rootTest(t, 'lab check records progress, lab list shows it, lab hint shows the failed check\'s hint, lab reset keeps answers', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'labcheck-'))
  chmodSync(cwd, 0o711)
  const env = {...process.env, LAB_STATE_DIR: join(cwd, 'state')}
  try {
    const first = await lab(['check', 'ch4-volumes', '--step', '2'], {cwd, env})
    assert.is(first.code, 1)
    assert.match(first.stdout, /created your work directory/)
    assert.match(first.stdout, /FAIL creating defaced\.html fails with EROFS: 02-deface\.cmd does not exist/)
    const hint = await lab(['hint', 'ch4-volumes', '--step', '2', '--json'], {cwd, env})
    const h = JSON.parse(hint.stdout)
    assert.ok(h.failed.some((f) => f.check === 'creating defaced.html fails with EROFS' && /:ro/.test(f.hint)), hint.stdout)
    const work = join(cwd, 'lab-work', 'ch4-volumes')
    cpSync(join(listLabDirs().find((d) => d.endsWith('ch4-volumes')), 'solution'), work, {recursive: true})
    const ok = await lab(['check', 'ch4-volumes', '--json'], {cwd, env})
    assert.is(ok.code, 0, ok.stdout)
    assert.is(JSON.parse(ok.stdout).status, 'passed')
    const list = JSON.parse((await lab(['list', '--json'], {cwd, env})).stdout)
    const ch4 = list.labs.find((x) => x.id === 'ch4-volumes')
    assert.is(ch4.exercisesDone, ch4.exercises)
    const reset = await lab(['reset', 'ch4-volumes', '--json'], {cwd, env})
    assert.is(reset.code, 0, reset.stderr)
    assert.ok(readdirSync(work).includes('01-bind.cmd'), 'answers are kept')
    const after = JSON.parse((await lab(['list', '--json'], {cwd, env})).stdout)
    assert.is(after.labs.find((x) => x.id === 'ch4-volumes').exercisesDone, 0)
  } finally {
    rmSync(cwd, {recursive: true, force: true})
  }
})

rootTest(t, 'lab run ch4-volumes --json: the CLI returns the outcome as data and exits 0', async () => {
  const r = await lab(['run', 'ch4-volumes', '--json'])
  assert.is(r.code, 0, r.stderr)
  const o = JSON.parse(r.stdout)
  assert.is(o.status, 'passed')
  assert.is(o.mode, 'walkthrough')
  assert.ok(o.steps[1].actions[0].stderr.includes('Read-only file system'))
})

rootTest(t, 'Ctrl-C during a walkthrough ends the sandbox, removes the work directory and exits 130', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'labint-')), 'slow')
  const marker = `sleep 37.${process.pid}`
  ;(await import('node:fs')).mkdirSync(dir)
  writeFileSync(join(dir, 'lab.yaml'), `id: slow\ntitle: Slow\nchapter: "0"\nsource: test\nestimatedMinutes: 1\nsteps:\n  - id: wait\n    title: Wait\n    actions:\n      - run: -- ${marker}\n    checks:\n      - name: ends\n        exitCode: 0\n  - id: after\n    title: After\n    actions:\n      - run: -- true\n    checks:\n      - name: ends\n        exitCode: 0\n`)
  const child = spawn(process.execPath, ['--', LAB, 'run', dir], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const exited = new Promise((r) => child.on('close', (code) => r(code)))
  try {
    assert.ok(await waitFor(() => processesMatching(marker).length > 0, 10_000), 'the sandbox started')
    process.kill(-child.pid, 'SIGINT') // what a terminal's Ctrl-C does: the whole foreground group
    assert.is(await exited, 130, out)
    assert.match(out, /step 2\/2 after: skipped: interrupted/)
    assert.match(out, /lab slow: interrupted/)
    assert.equal(processesMatching(marker), [], 'no sandbox process is left')
    assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith(`lab-walk-${child.pid}-`)), [], 'the work directory is gone')
  } finally {
    try { process.kill(-child.pid, 'SIGKILL') } catch {}
    rmSync(join(dir, '..'), {recursive: true, force: true})
  }
})

/** A lab whose first step leaves a detached sandbox (on a managed volume) running and then waits in the foreground. */
function backgroundLab(tag) {
  const dir = join(mkdtempSync(join(tmpdir(), 'labbg-')), 'bg')
  mkdirSync(dir, {recursive: true})
  writeFileSync(join(dir, 'lab.yaml'), `id: bg\ntitle: Background\nchapter: "0"\nsource: test\nestimatedMinutes: 1\nsteps:\n  - id: start\n    title: Start\n    actions:\n      - volumeCreate: data\n      - run: -d --name {{name "svc"}} -v {{name "data"}}:/data -- sleep 37.${tag}\n      - run: -- sleep 38.${tag}\n    checks:\n      - name: runs\n        state: {sandbox: svc, status: running}\n`)
  return dir
}

for (const sig of ['SIGINT', 'SIGKILL']) {
  rootTest(t, `${sig} to the CLI during a walkthrough: its detached sandboxes and volumes do not outlive it${sig === 'SIGKILL' ? ' (the next lab run sweeps them)' : ''}`, async () => {
    const tag = `${process.pid}${sig === 'SIGINT' ? 1 : 9}`
    const dir = backgroundLab(tag)
    const child = spawn(process.execPath, ['--', LAB, 'run', dir], {detached: true, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    const exited = new Promise((r) => child.on('close', (code, signal) => r(code ?? signal)))
    const stateOf = () => readdirSync('/tmp').filter((n) => n.startsWith('lab-st-')).filter((n) => {
      try {
        return readFileSync(join('/tmp', n, 'owner'), 'utf8').split(' ')[0] === String(child.pid)
      } catch {
        return false
      }
    })
    try {
      assert.ok(await waitFor(() => processesMatching(`sleep 38.${tag}`).length > 0, 15_000), 'the foreground sandbox started')
      assert.is(processesMatching(`sleep 37.${tag}`).length, 1, 'the detached sandbox runs')
      assert.is(stateOf().length, 1, 'the lab run has a private state directory')
      const state = stateOf()[0]
      process.kill(-child.pid, sig)
      const code = await exited
      if (sig === 'SIGKILL') {
        // nothing could clean up: the detached sandbox is still there until the next lab run sweeps
        const {sweepStaleStateDirs, sweepStaleWorkDirs} = await import('../../dist/labs/workdir.js')
        const swept = await sweepStaleStateDirs()
        assert.ok(swept.includes(join('/tmp', state)), `swept ${JSON.stringify(swept)}`)
        sweepStaleWorkDirs()
        assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith(`lab-walk-${child.pid}-`)), [], 'its work directory is swept too')
      } else {
        assert.is(code, 130, out)
      }
      assert.ok(await waitFor(() => processesMatching(`.${tag}`).length === 0, 5000), 'no sandbox process is left: ' + JSON.stringify(processesMatching(`.${tag}`)))
      assert.equal(readdirSync('/tmp').filter((n) => n === state), [], 'its state directory (sandboxes, logs, the volume) is gone')
    } finally {
      try { process.kill(-child.pid, 'SIGKILL') } catch {}
      rmSync(join(dir, '..'), {recursive: true, force: true})
    }
  })
}

t.run()
