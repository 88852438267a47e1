// What a newcomer meets first: a mistyped command, a missing argument, prune asking first,
// what git ignores. Each case is a line a new user typed, and what lab must answer.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, LAB, ROOT} from '../helpers.mjs'

const t = suite('first contact')
const state = mkdtempSync(join(tmpdir(), 'lab-first-'))
const env = {...process.env, LAB_STATE_DIR: state}
t.after(() => rmSync(state, {recursive: true, force: true}))

for (const [typed, meant] of [
  [['sandbx', 'run', '--', 'true'], 'lab sandbox run -- true'],
  [['chek', 'ch4-volumes'], 'lab check ch4-volumes'],
  [['profile', 'lnt', 'x.json'], 'lab profile lint x.json'],
  [['sytem', 'prune'], 'lab system prune'],
]) {
  t(`a mistyped \`lab ${typed.join(' ')}\` suggests \`${meant}\` with spaces, exit 2`, async () => {
    const r = await lab(typed, {env})
    assert.is(r.code, 2, r.stderr)
    assert.ok(r.stderr.includes(`did you mean \`${meant}\`?`), r.stderr)
    assert.not.match(r.stderr, /sandbx:run|chek:|not found/)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  })
}

t('a command nothing is close to points at --help, exit 2', async () => {
  const r = await lab(['frobnicate'], {env})
  assert.is(r.code, 2)
  assert.match(r.stderr, /`frobnicate` is not a lab command \(see `lab --help`/)
})

t('a missing argument is named', async () => {
  const r = await lab(['grade', 'examples/grading/grading.yaml'], {env, cwd: ROOT})
  assert.is(r.code, 125)
  assert.match(r.stderr, /^lab: (missing SUBMISSION \(see `lab grade --help`\)|no submission given \(lab grade SPEC SUBMISSION…)/)
  assert.is(r.stderr.trim().split('\n').length, 1)
  const s = await lab(['show'], {env})
  assert.match(s.stderr, /missing LAB/)
})

t('system prune without a terminal and without -f refuses, names -f, removes nothing', async () => {
  const r = await lab(['system', 'prune'], {env, input: 'y\n'})
  assert.is(r.code, 1)
  assert.match(r.stderr, /refusing to remove anything without confirmation.*`lab system prune -f`/)
  const j = await lab(['system', 'prune', '--volumes', '--json'], {env})
  assert.is(j.code, 1)
  assert.match(j.stdout, /lab system prune -f --volumes/)
  const f = await lab(['system', 'prune', '-f', '--json'], {env})
  assert.is(f.code, 0, f.stderr)
  assert.equal(Object.keys(JSON.parse(f.stdout)).sort(), ['cgroups', 'orphans', 'sandboxes', 'volumes'])
})

// script(1) gives prune a terminal to ask on; the answer is typed after the question shows
function onTerminal(answer) {
  const cmd = `(sleep 2; printf '${answer}\\r') | script -qec "${process.execPath} -- ${LAB} system prune" /dev/null`
  return spawnSync('sh', ['-c', cmd], {env, encoding: 'utf8', timeout: 30_000})
}

const hasScript = spawnSync('sh', ['-c', 'command -v script'], {stdio: 'ignore'}).status === 0
;(hasScript ? t : t.skip)('system prune on a terminal asks y/N: "n" (or nothing) keeps everything, "y" prunes', () => {
  const no = onTerminal('n')
  assert.match(no.stdout, /Are you sure you want to continue\? \[y\/N\]/)
  assert.match(no.stdout, /nothing removed/)
  assert.is(no.status, 1)
  const yes = onTerminal('y')
  assert.match(yes.stdout, /\[y\/N\]/)
  assert.is(yes.status, 0, yes.stdout)
})

;(hasScript ? t : t.skip)('-v data:/x on a terminal says once that it made a lasting managed volume, and how to bind ./data instead', () => {
  const run = () => spawnSync('script', ['-qec', `${process.execPath} -- ${LAB} sandbox run -v first-contact-data:/x -- true`, '/dev/null'], {env, encoding: 'utf8', timeout: 30_000})
  const first = run()
  assert.is(first.status, 0, first.stdout)
  assert.match(first.stdout, /created the managed volume "first-contact-data"; it outlives the sandbox \(`lab volume rm first-contact-data` removes it\)\. To bind a host directory, give a path: -v "\$PWD\/first-contact-data:\/x"/)
  assert.not.match(run().stdout, /created the managed volume/, 'only once')
})

t('state (lab progress, CI runs) lives where the README says: /var/lib/lab as root, LAB_STATE_DIR when set', () => {
  const probe = `import('${ROOT}/dist/labs/progress.js').then((m) => console.log(m.stateDir()))`
  const {LAB_STATE_DIR: _, ...noState} = process.env
  const r = spawnSync(process.execPath, ['-e', probe], {env: {...noState, XDG_STATE_HOME: '/nonexistent-xdg'}, encoding: 'utf8'})
  assert.is(r.stdout.trim(), process.getuid() === 0 ? '/var/lib/lab' : '/nonexistent-xdg/lab')
  const s = spawnSync(process.execPath, ['-e', probe], {env: {...noState, LAB_STATE_DIR: state}, encoding: 'utf8'})
  assert.is(s.stdout.trim(), state)
})

t('git ignores what the labs and grading write into a checkout', () => {
  for (const p of ['lab-work/ch4-volumes/answer.sh', 'reports/report.json']) {
    const r = spawnSync('git', ['check-ignore', '-q', '--no-index', p], {cwd: ROOT})
    assert.is(r.status, 0, `${p} is not ignored`)
  }
})

t.run()
