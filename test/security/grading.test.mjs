// The abuse battery for `lab grade`: one batch of hostile submissions next to honest
// ones, graded end to end through the CLI. Each case names the attack and the defence;
// every submission must get the score it deserves, the batch must go on past the ones
// that are rejected, and the host files the attacks aim at must be byte for byte the
// same afterwards (no process, mount or scratch directory left either).
import {createHash} from 'node:crypto'
import {chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, leftoverMounts, processesMatching, rootTest, spawnLab, waitFor} from '../helpers.mjs'
import {makeTar, makeZip} from '../grading/archives.mjs'

const t = suite('security: grading hostile submissions')

// A marker no other process on the machine has in its command line: the lingering
// process sleeps this long, so finding it after grading would mean it outlived its run.
const LINGER = 'sleep 7.77'

const SPEC = `title: attack battery
build:
  run: "if [ -f build.sh ]; then sh build.sh; fi"
  limits: {time: 20s}
limits: {time: 1s, memory: 48m, pids: 24, output: 16k, fileSize: 1m}
tests:
  - name: answer
    points: 2
    run: sh main.sh
    checks:
      - stdout: {equals: "42"}
  - name: file
    points: 1
    run: sh main.sh file
    checks:
      - file: {path: out.txt, equals: "42"}
`

// name → files of a submission directory (or a Buffer for an archive)
const HONEST = 'if [ "$1" = file ]; then echo 42 > out.txt; else echo 42; fi\n'
const SUBMISSIONS = {
  correct: {'main.sh': HONEST},
  partial: {'main.sh': 'if [ "$1" = file ]; then echo 41 > out.txt; else echo 42; fi\n'},
  wrong: {'main.sh': 'echo 7; echo 7 > out.txt\n'},
  'non-compiling': {'main.sh': HONEST, 'build.sh': 'gcc -o prog prog.c\n', 'prog.c': 'int main( { return 0 }\n'},
  'infinite-loop': {'main.sh': 'while :; do :; done\n'},
  'fork-bomb': {'main.sh': 'b() { b | b & }; b; wait\n'},
  'memory-bomb': {'main.sh': 'python3 -c "a = bytearray(b\\"x\\") * (400 << 20); print(42)"\n'},
  'output-flood': {'main.sh': 'yes 42\n'},
  // planted where the harness reads: the output file, a directory on its path, "run"
  'symlink-out': {'build.sh': 'ln -s /etc/passwd out.txt; ln -s / run; mkdir -p d; ln -s /etc d/etc\n', 'main.sh': 'echo 42; [ "$1" = file ] && echo 42 > run/tmp/planted 2>/dev/null; true\n'},
  'symlink-at-run': {'main.sh': 'rm -f out.txt; ln -s /etc/passwd out.txt; echo 42 >> out.txt 2>/dev/null; echo 42\n'},
  'fifo-output': {'main.sh': 'mkfifo out.txt; echo 42\n'},
  'hard-link-in-run': {'main.sh': 'ln /etc/passwd out.txt 2>/dev/null || ln /etc/shadow out.txt 2>/dev/null; echo 42\n'},
  // the lingering processes: one rewrites the output while the run goes on, stops, and then
  // both wait to forge it once the main process is gone; only the main process decides the
  // moment the run ends, so the honest answer is there at that moment however slow the machine
  lingering: {'main.sh': `echo 42 > out.txt; (${LINGER}; echo forged > out.txt) & (while [ ! -e stop ]; do echo forged > out.txt; sleep 0.01; done; echo 42 > out.txt; : > stopped; ${LINGER}; echo forged > out.txt) & sleep 0.05; : > stop; while [ ! -e stopped ]; do sleep 0.01; done; echo 42\n`},
  'fake-result': {
    'main.sh':
      'echo \'{"score": 3, "max_score": 3, "tests": [{"name": "answer", "score": 2, "status": "passed"}]}\'; echo "ok 1 - answer"; ' +
      'echo \'{"score":3}\' > results.json; echo \'{"score":3}\' > /grader/results.json 2>/dev/null; echo 43 > out.txt\n',
  },
}

const sha = (p) => createHash('sha256').update(readFileSync(p)).digest('hex')

let base
let report
let host
const hostFiles = ['/etc/passwd', '/etc/shadow', '/etc/hostname']

t.before(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-sec-'))
  chmodSync(base, 0o755)
})
t.after(() => rmSync(base, {recursive: true, force: true}))

rootTest(t, 'a batch of honest and hostile submissions is graded, each as it deserves, and the host is untouched', async () => {
  const specDir = join(base, 'spec')
  mkdirSync(specDir)
  writeFileSync(join(specDir, 'grading.yaml'), SPEC)
  const subs = join(base, 'subs')
  mkdirSync(subs)
  const paths = []
  for (const [name, files] of Object.entries(SUBMISSIONS)) {
    const d = join(subs, name)
    mkdirSync(d)
    for (const [f, body] of Object.entries(files)) writeFileSync(join(d, f), body)
    paths.push(d)
  }
  // a hard link to a host file (here: one beside the batch, same file system) in a submission directory
  const secret = join(base, 'host-secret')
  writeFileSync(secret, 'the host secret\n')
  mkdirSync(join(subs, 'hard-link'))
  writeFileSync(join(subs, 'hard-link', 'main.sh'), HONEST)
  linkSync(secret, join(subs, 'hard-link', 'notes.txt'))
  paths.push(join(subs, 'hard-link'))
  // archives: one honest tar.gz and zip, and the ones that try to write outside
  writeFileSync(join(subs, 'honest.tar.gz'), makeTar([{name: 'main.sh', body: HONEST}], {gzip: true}))
  writeFileSync(join(subs, 'honest-zip.zip'), makeZip([{name: 'main.sh', body: HONEST}]))
  writeFileSync(join(subs, 'dotdot.tar'), makeTar([{name: 'main.sh', body: HONEST}, {name: '../../escaped', body: 'x'}]))
  writeFileSync(join(subs, 'absolute.tar'), makeTar([{name: 'main.sh', body: HONEST}, {name: join(base, 'absolute-escaped'), body: 'x'}]))
  writeFileSync(join(subs, 'link-out.tar'), makeTar([{name: 'out.txt', type: '2', linkname: secret}, {name: 'out.txt', body: 'pwned'}]))
  writeFileSync(join(subs, 'bomb.zip'), makeZip([{name: 'main.sh', body: HONEST}, {name: 'zeros', body: Buffer.alloc(80 * 1024 * 1024)}]))
  paths.push(...['honest.tar.gz', 'honest-zip.zip', 'dotdot.tar', 'absolute.tar', 'link-out.tar', 'bomb.zip'].map((f) => join(subs, f)))

  host = Object.fromEntries([...hostFiles, secret, join(specDir, 'grading.yaml')].map((p) => [p, sha(p)]))
  const out = join(base, 'reports')
  const r = await lab(['grade', join(specDir, 'grading.yaml'), ...paths, '--json', '--out', out], {timeout: 120_000})
  assert.is(r.code, 0, `grading itself completed: ${r.stderr}`)
  report = JSON.parse(r.stdout)
  assert.is(report.submissions.length, paths.length, 'the batch went on past every rejected submission')
  assert.ok(existsSync(join(out, 'report.html')) && existsSync(join(out, 'gradescope', 'fake-result', 'results.json')))
})

const sub = (id) => {
  const s = report?.submissions.find((x) => x.id === id)
  assert.ok(s, `${id} is in the report`)
  return s
}
const test = (id, name) => sub(id).tests.find((x) => x.name === name)

rootTest(t, 'honest submissions: correct 3/3, partial 2/3, wrong 0/3; archives graded like directories', () => {
  assert.is(sub('correct').score, 3)
  assert.is(sub('partial').score, 2)
  assert.match(test('partial', 'file').message, /line 1: expected "42", got "41"/)
  assert.is(sub('wrong').score, 0)
  assert.is(sub('honest').score, 3)
  assert.is(sub('honest').kind, 'tar.gz')
  assert.is(sub('honest-zip').score, 3)
  for (const id of ['correct', 'partial', 'wrong']) assert.is(sub(id).status, 'graded')
})

rootTest(t, 'a submission that does not compile: build-failed, 0 points, the compiler output kept', () => {
  const s = sub('non-compiling')
  assert.is(s.status, 'build-failed')
  assert.is(s.score, 0)
  assert.match(s.build.stderr, /error/)
})

rootTest(t, 'attack: infinite loop · defence: wall-clock limit, run once more near the limit, the report says so', () => {
  const a = test('infinite-loop', 'answer')
  assert.is(a.verdict, 'timeout')
  assert.is(a.score, 0)
  assert.ok(a.rerun, 'the timeout was confirmed by a second run')
  assert.match(a.rerun.reason, /within 10% of the 1000 ms limit/)
  assert.ok(report.summary.reruns >= 2)
})

rootTest(t, 'attack: a busy loop that is killed hides its CPU use · defence: CPU time is read from the sandbox\'s cgroup', () => {
  // 1 s of a busy loop, even on a loaded machine, is far above the few ms the sandbox's init used
  const a = test('infinite-loop', 'answer')
  assert.ok(a.cpuMs >= 150, `cpuMs ${a.cpuMs} for a ${a.wallMs} ms busy loop`)
})

rootTest(t, 'attack: fork bomb · defence: the pids limit; memory bomb · defence: the memory limit; output flood · defence: the output cap', () => {
  for (const name of ['answer', 'file']) {
    // the bomb stops at the pids limit; whether the shell then ends by itself or is ended
    // for it depends on timing, the score may not
    const fb = test('fork-bomb', name)
    assert.is(fb.score, 0)
    assert.ok(fb.verdict !== 'engine-error', fb.message)
    if (fb.verdict === 'pids') assert.match(fb.message, /process limit exceeded \(24\): a fork bomb\?/)
    assert.is(test('memory-bomb', name).verdict, 'memory')
    assert.is(test('output-flood', name).verdict, 'output-limit')
    assert.ok(test('output-flood', name).stdout.length <= 17 * 1024 + 100, 'no more output kept than the cap')
  }
  assert.match(test('memory-bomb', 'answer').message, /memory limit exceeded \(48 MiB\)/)
})

rootTest(t, 'attack: symlinks planted as the output file, a directory and "run" (→ /etc/passwd, /) · defence: read without following, refused', () => {
  assert.is(test('symlink-out', 'answer').score, 2, 'stdout is still graded')
  const f = test('symlink-out', 'file')
  assert.is(f.score, 0)
  assert.match(f.message, /out\.txt is a symbolic link \(not followed\)/)
  const g = test('symlink-at-run', 'file')
  assert.is(g.score, 0)
  assert.match(g.message, /symbolic link/)
})

rootTest(t, 'attack: a FIFO as the output file · defence: opened non-blocking and refused, nothing hangs', () => {
  const f = test('fifo-output', 'file')
  assert.is(f.score, 0)
  assert.match(f.message, /FIFO/)
  // a FIFO opened to read would block the harness for ever: the batch ending is the proof
})

rootTest(t, 'attack: hard links to host files (in the submission; made during the run) · defence: rejected / refused', () => {
  const s = sub('hard-link')
  assert.is(s.status, 'rejected')
  assert.match(s.message, /notes\.txt is a hard link/)
  const f = test('hard-link-in-run', 'file')
  assert.is(f.score, 0)
  assert.match(f.message, /was not written|hard link/)
})

rootTest(t, 'attack: tar with "../" and absolute entries, a link out, a zip bomb · defence: per-submission errors, nothing written outside', () => {
  assert.match(sub('dotdot').message, /climbs out with "\.\."/)
  assert.match(sub('absolute').message, /absolute path/)
  assert.match(sub('link-out').message, /symbolic link to the absolute path/)
  assert.match(sub('bomb').message, /zip bomb/)
  for (const id of ['dotdot', 'absolute', 'link-out', 'bomb']) {
    assert.is(sub(id).status, 'rejected')
    assert.is(sub(id).score, 0)
  }
  assert.not.ok(existsSync(join(base, 'absolute-escaped')))
  assert.not.ok(existsSync(join(tmpdir(), 'escaped')))
})

rootTest(t, 'attack: a process that lingers after the main one and rewrites the output · defence: it is dead before anything is read', async () => {
  assert.is(sub('lingering').score, 3)
  const left = await waitFor(() => processesMatching(LINGER).length === 0, 3000)
  assert.ok(left, `processes left: ${JSON.stringify(processesMatching(LINGER))}`)
})

rootTest(t, 'attack: a submission that prints (and writes) a fake result · defence: only the checks decide', () => {
  const s = sub('fake-result')
  assert.is(s.score, 0)
  assert.is(test('fake-result', 'answer').status, 'failed')
  const gs = JSON.parse(readFileSync(join(base, 'reports', 'gradescope', 'fake-result', 'results.json'), 'utf8'))
  assert.is(gs.score, 0)
  const tap = readFileSync(join(base, 'reports', 'results.tap'), 'utf8')
  assert.not.match(tap, /^ok \d+ - fake-result/m)
})

// Trust boundaries between the grader's files and the student's code, and the teacher's
// terminal and spreadsheet: a second batch with files only some tests (and the checker) see.
const TRUST_SPEC = `title: trust boundaries
files: [public.txt]
limits: {time: 10s, output: 64k}
tests:
  - name: visible
    points: 1
    run: sh main.sh
    checks: [{stdout: {contains: "42"}}]
  - name: hidden input
    points: 1
    visibility: hidden
    files: [hidden-input.txt]
    run: sh main.sh < /grader/hidden-input.txt
    checks: [{stdout: {contains: "42"}}]
  - name: checked
    points: 1
    run: sh main.sh
    checks:
      - checker: {command: [python3, /grader/checker.py], files: [checker.py]}
`
const SECRET_INPUT = 'SECRET-INPUT-7f3a'
const CHECKER_SOURCE = 'CHECKER-SOURCE-91bc'
const ESC_NAME = '/\x1b]0;pwned\x07\x1b[2J\x1b[31mtitle\nFAKE  3/3  graded  all tests passed'
let trust
let trustStdout

rootTest(t, 'a second batch: hidden inputs, a checker with its own files, a file flood and hostile names', async () => {
  const d = join(base, 'trust')
  mkdirSync(join(d, 'subs'), {recursive: true})
  writeFileSync(join(d, 'grading.yaml'), TRUST_SPEC)
  writeFileSync(join(d, 'public.txt'), 'public\n')
  writeFileSync(join(d, 'hidden-input.txt'), `${SECRET_INPUT}\n`)
  writeFileSync(join(d, 'checker.py'), `# ${CHECKER_SOURCE}\nimport sys\nout = open('/check/stdout').read()\nsrc = open('/grader/checker.py').read()\nok = '42' in out and '${CHECKER_SOURCE}' in src and '${SECRET_INPUT}' in open('/grader/hidden-input.txt').read()\nprint('ok' if ok else 'wrong answer')\nsys.exit(0 if ok else 1)\n`)
  const subs = {
    // prints everything it can find of the grader's files into its (student-visible) output
    snoop: {'main.sh': 'cat /grader/hidden-input.txt /grader/checker.py 2>&1; ls -R /grader 2>&1; cat; echo 42\n'},
    // 10,050 empty files in /work: more than the checker's copy of the run may hold
    'file-flood': {'main.sh': 'cat >/dev/null; i=0; while [ $i -lt 10050 ]; do : > f$i; i=$((i+1)); done; echo 42\n'},
  }
  const paths = []
  for (const [name, files] of Object.entries(subs)) {
    mkdirSync(join(d, 'subs', name))
    for (const [f, body] of Object.entries(files)) writeFileSync(join(d, 'subs', name, f), body)
    paths.push(join(d, 'subs', name))
  }
  writeFileSync(join(d, 'subs', 'escapes.tar'), makeTar([{name: 'main.sh', body: HONEST}, {name: ESC_NAME, body: 'x'}]))
  paths.push(join(d, 'subs', 'escapes.tar'))
  // without --json: the summary the teacher's terminal shows
  const r = await lab(['grade', join(d, 'grading.yaml'), ...paths, '--out', join(d, 'out')], {timeout: 120_000})
  assert.is(r.code, 0, `a submission's flood is its own verdict, not a failed batch: ${r.stderr}`)
  trustStdout = r.stdout + r.stderr
  trust = JSON.parse(readFileSync(join(d, 'out', 'report.json'), 'utf8'))
})

const trustTest = (id, name) => trust.submissions.find((x) => x.id === id).tests.find((x) => x.name === name)

rootTest(t, 'attack: a visible test prints the hidden test\'s input and the checker\'s source · defence: each test sees only its own files at /grader', () => {
  const visible = trustTest('snoop', 'visible')
  assert.is(visible.status, 'passed')
  assert.not.ok(visible.stdout.includes(SECRET_INPUT), visible.stdout)
  assert.not.ok(visible.stdout.includes(CHECKER_SOURCE), visible.stdout)
  assert.match(visible.stdout, /public\.txt/, 'the top-level files are there')
  // the test that uses the hidden input gets it; still never the checker
  assert.ok(trustTest('snoop', 'hidden input').stdout.includes(SECRET_INPUT))
  assert.not.ok(trustTest('snoop', 'hidden input').stdout.includes(CHECKER_SOURCE))
  assert.not.ok(trustTest('snoop', 'checked').stdout.includes(CHECKER_SOURCE))
  // the checker runs with every file of the grader
  assert.is(trustTest('snoop', 'checked').status, 'passed', trustTest('snoop', 'checked').message)
})

rootTest(t, 'attack: 10,050 files in /work overflow the checker\'s copy · defence: that test\'s limit verdict (file-count), the batch goes on', () => {
  const s = trust.submissions.find((x) => x.id === 'file-flood')
  assert.is(s.status, 'graded')
  const c = trustTest('file-flood', 'checked')
  assert.is(c.verdict, 'file-count')
  assert.is(c.status, 'failed')
  assert.match(c.message, /more than 10000 files/)
  assert.is(trustTest('file-flood', 'visible').status, 'passed')
  assert.is(trust.summary.errors, 0)
})

rootTest(t, 'attack: an archive entry named with escape sequences and a newline · defence: shown escaped on the terminal (\\x1b), never interpreted', () => {
  const s = trust.submissions.find((x) => x.id === 'escapes')
  assert.is(s.status, 'rejected')
  assert.not.ok(trustStdout.includes('\x1b'), 'no raw ESC reaches the terminal')
  assert.not.ok(trustStdout.includes('\x07'), 'no raw BEL reaches the terminal')
  assert.ok(trustStdout.includes('\\x1b]0;pwned\\x07\\x1b[2J'), trustStdout)
  assert.not.match(trustStdout, /^FAKE/m, 'the name cannot start a line of its own')
})

rootTest(t, 'attack: a name that a spreadsheet runs as a formula behind blanks or in full width · defence: the CSV field is prefixed with \'', async () => {
  const {csvField} = await import('../../dist/grading/reports/csv.js')
  for (const evil of [' =HYPERLINK("http://x")', '\t=1+1', '\u3000=1+1', '\uff1dHYPERLINK("x")', '\uff0b1', ' \uff20SUM(A1)', '-1+1']) assert.ok(csvField(evil).replace(/^"/, '').startsWith("'"), JSON.stringify(evil))
  assert.is(csvField('plain name'), 'plain name')
})

rootTest(t, 'the host is unchanged: attacked files hash the same; no process, mount or scratch area is left', async () => {
  for (const [p, h] of Object.entries(host)) assert.is(sha(p), h, `${p} changed`)
  assert.not.ok(existsSync('/tmp/planted'))
  assert.equal(leftoverMounts(), [])
  // other `lab grade` runs may be going on: only a finished run's scratch area counts
  const alive = (n) => {
    try {
      process.kill(Number(/lab-grade-(\d+)-/.exec(n)?.[1]), 0)
      return true
    } catch {
      return false
    }
  }
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.includes('/lab-grade-'))
  assert.equal(mounted.filter((m) => !alive(m)), [], 'the scratch tmpfs of a finished run is still mounted')
  const ours = readdirSync(tmpdir()).filter((n) => n.startsWith('lab-grade-'))
  assert.equal(ours.filter((n) => !alive(n)), [], 'scratch directories of finished runs are left')
  // the report records what the grading rests on
  assert.match(report.spec.sha256, /^[0-9a-f]{64}$/)
  assert.match(sub('correct').sha256, /^[0-9a-f]{64}$/)
  assert.is(report.engine.seccompProfile, 'strict')
})

rootTest(t, 'attack: the teacher interrupts a batch stuck on a busy loop · defence: Ctrl-C kills every sandbox and removes the scratch area', async () => {
  const d = join(base, 'interrupt')
  mkdirSync(join(d, 'loop'), {recursive: true})
  writeFileSync(join(d, 'grading.yaml'), 'title: interrupt\nlimits: {time: 30s}\ntests:\n  - {name: spin, points: 1, run: "exec sleep 31.31", checks: [{exitCode: 0}]}\n')
  writeFileSync(join(d, 'loop', 'main.sh'), '')
  const child = spawnLab(['grade', join(d, 'grading.yaml'), join(d, 'loop')])
  let stderr = ''
  child.stderr.on('data', (b) => (stderr += b))
  assert.ok(await waitFor(() => processesMatching('sleep 31.31').length > 0, 10_000), 'the sandbox started')
  const scratch = readdirSync(tmpdir()).filter((n) => n.startsWith(`lab-grade-${child.pid}-`))
  assert.is(scratch.length, 1, 'the batch has its scratch area')
  child.kill('SIGINT')
  const code = await new Promise((r) => child.on('close', (c) => r(c)))
  assert.is(code, 130, stderr)
  assert.match(stderr, /grading was interrupted/)
  assert.ok(await waitFor(() => processesMatching('sleep 31.31').length === 0, 5000), 'the sandboxed process is gone')
  assert.not.ok(existsSync(join(tmpdir(), scratch[0])), 'the scratch area is removed')
  assert.not.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(scratch[0]), 'its tmpfs is unmounted')
})

rootTest(t, 'attack: the grader itself is killed with SIGKILL mid-batch · defence: its sandboxes die and its guard unmounts and removes the scratch area', async () => {
  const d = join(base, 'sigkill')
  mkdirSync(join(d, 'loop'), {recursive: true})
  writeFileSync(join(d, 'grading.yaml'), 'title: sigkill\nlimits: {time: 30s}\ntests:\n  - {name: spin, points: 1, run: "exec sleep 32.32", checks: [{exitCode: 0}]}\n')
  writeFileSync(join(d, 'loop', 'main.sh'), '')
  const child = spawnLab(['grade', join(d, 'grading.yaml'), join(d, 'loop')])
  assert.ok(await waitFor(() => processesMatching('sleep 32.32').length > 0, 10_000), 'the sandbox started')
  const scratch = readdirSync(tmpdir()).filter((n) => n.startsWith(`lab-grade-${child.pid}-`))
  assert.is(scratch.length, 1, 'the batch has its scratch area')
  child.kill('SIGKILL')
  await new Promise((r) => child.on('close', r))
  assert.ok(await waitFor(() => processesMatching('sleep 32.32').length === 0, 5000), 'the sandboxed process is gone')
  const gone = () => !existsSync(join(tmpdir(), scratch[0])) && !readFileSync('/proc/self/mountinfo', 'utf8').includes(scratch[0])
  assert.ok(await waitFor(gone, 5000), 'the scratch area is unmounted and removed without another lab grade')
})

t.run()
