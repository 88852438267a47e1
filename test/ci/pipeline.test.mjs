// `lab ci`: pipelines run through the CLI, each step in its own sandbox. Every test
// asserts what the steps saw from inside (their output, files they made) and what the
// host kept (the checkout, logs, reports, leftovers).
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, processesMatching, rootTest, spawnLab, waitFor} from '../helpers.mjs'

const t = suite('ci: pipelines in sandboxes')
let repo, state

function pipeline(yaml, file = '.lab/ci.yml') {
  mkdirSync(join(repo, file, '..'), {recursive: true})
  writeFileSync(join(repo, file), yaml)
  return join(repo, file)
}

async function ci(args, extraEnv = {}) {
  const r = await lab(['ci', ...args], {env: {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state, ...extraEnv}, timeout: 60_000})
  let json = null
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout)
    } catch {
      assert.unreachable(`--json printed no JSON:\n${r.stdout}\n${r.stderr}`)
    }
  }
  return {...r, json}
}

const job = (r, key) => r.json.jobs.find((j) => j.key === key)
// a leak is a run directory whose lab process is gone (other suites run lab ci at the same time)
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}
const leftovers = () => readdirSync(tmpdir()).filter((n) => /^lab-ci-\d+-/.test(n) && !alive(Number(n.split('-')[2])))

t.before.each(() => {
  repo = mkdtempSync(join(tmpdir(), 'labci-repo-'))
  state = mkdtempSync(join(tmpdir(), 'labci-state-'))
  writeFileSync(join(repo, 'README.md'), 'the checkout\n')
})
t.after.each(() => {
  rmSync(repo, {recursive: true, force: true})
  rmSync(state, {recursive: true, force: true})
})

rootTest(t, 'a DAG with a failing branch: dependents skipped, an if: always() clean-up runs, exit 1 naming the step', async () => {
  const f = pipeline(`
jobs:
  build:
    steps:
      - run: echo built
  lint:
    needs: build
    steps:
      - name: lint it
        run: echo linting; exit 3
      - name: after the failure
        run: echo should not run
  deploy:
    needs: [lint]
    steps:
      - run: echo deployed
  unit:
    needs: build
    steps:
      - run: echo unit ok
  cleanup:
    needs: [lint, unit]
    if: always()
    steps:
      - run: echo "cleaning up after lint=\${{ needs.lint.result }} unit=\${{ needs.unit.result }}"
`)
  const r = await ci([f, '--json'])
  assert.is(r.code, 1, r.stderr)
  assert.is(job(r, 'build').status, 'success')
  assert.is(job(r, 'lint').status, 'failure')
  assert.is(job(r, 'lint').steps[0].exitCode, 3)
  assert.is(job(r, 'lint').steps[1].status, 'skipped')
  assert.is(job(r, 'deploy').status, 'skipped')
  assert.is(job(r, 'unit').status, 'success')
  assert.is(job(r, 'cleanup').status, 'success')
  assert.equal(r.json.failures.map((x) => x.message), ['lint › lint it: exit code 3'])
  const log = readFileSync(job(r, 'cleanup').steps[0].log, 'utf8')
  assert.match(log, 'cleaning up after lint=failure unit=success')
  // JUnit: one testcase per step, the failure with its verdict
  const junit = readFileSync(r.json.junit, 'utf8')
  assert.is((junit.match(/<testcase /g) ?? []).length, 6)
  assert.match(junit, /<failure message="exit code 3" type="nonzero-exit">/)
  // the text summary names the failing step; GitHub annotations only on GitHub
  const plain = await ci([f, '--quiet'], {GITHUB_ACTIONS: 'true'})
  assert.is(plain.code, 1)
  assert.match(plain.stdout, 'failed: lint › lint it: exit code 3')
  assert.match(plain.stdout, '::error title=lint › lint it::lint › lint it: exit code 3')
  assert.equal(leftovers(), [])
})

rootTest(t, 'a matrix with include and exclude: one job run per combination, values reach the steps', async () => {
  const f = pipeline(`
jobs:
  test:
    strategy:
      fail-fast: false
      matrix:
        py: ['3.11', '3.12']
        mode: [fast, slow]
        exclude:
          - {py: '3.11', mode: slow}
        include:
          - {py: '3.12', mode: slow, extra: yes}
          - {py: pypy, mode: fast}
    steps:
      - run: echo "py=\${{ matrix.py }} mode=\${{ matrix.mode }} extra=\${{ matrix.extra }}" && test "\${{ matrix.py }}" != pypy
`)
  const r = await ci([f, '--json', '--jobs', '2'])
  assert.equal(r.json.jobs.map((j) => j.key).sort(), ['test (py=3.11, mode=fast)', 'test (py=3.12, mode=fast)', 'test (py=3.12, mode=slow, extra=yes)', 'test (py=pypy, mode=fast)'])
  assert.match(readFileSync(job(r, 'test (py=3.12, mode=slow, extra=yes)').steps[0].log, 'utf8'), 'py=3.12 mode=slow extra=yes')
  assert.is(job(r, 'test (py=pypy, mode=fast)').status, 'failure')
  assert.is(job(r, 'test (py=3.11, mode=fast)').status, 'success')
  assert.is(r.code, 1)
})

rootTest(t, 'services: a web server and a TCP echo server from our fixtures, reached on localhost and by name after their readiness checks', async () => {
  writeFileSync(join(repo, 'index.html'), '<p>served from the workspace</p>\n')
  const f = pipeline(`
jobs:
  integration:
    services:
      web:
        run: python3 -m http.server 18765 --bind 127.0.0.1
        ready: {port: 18765, timeout-seconds: 20}
      echo:
        run: >-
          python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',19000));s.listen();exec('while 1:\\n c,_=s.accept();c.sendall(c.recv(100).upper());c.close()')"
        ready:
          run: python3 -c "import socket;socket.create_connection(('127.0.0.1',19000))"
    steps:
      - run: python3 -c "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:18765/index.html').read().decode())"
      - run: python3 -c "import socket;c=socket.create_connection(('127.0.0.1',19000));c.sendall(b'ping');print(c.recv(10).decode())"
      # and by the service's name, as a job in a container reaches GitHub's service containers
      - run: python3 -c "import socket,urllib.request;print(urllib.request.urlopen('http://web:18765/index.html').read().decode());c=socket.create_connection(('echo',19000));c.sendall(b'by name');print(c.recv(10).decode())"
`)
  const r = await ci([f, '--json'])
  assert.is(r.code, 0, JSON.stringify(r.json.jobs[0], null, 1))
  const j = job(r, 'integration')
  assert.equal(j.services.map((s) => [s.name, s.ready]), [['web', true], ['echo', true]])
  assert.match(readFileSync(j.steps[0].log, 'utf8'), 'served from the workspace')
  assert.match(readFileSync(j.steps[1].log, 'utf8'), 'PING')
  assert.match(readFileSync(j.steps[2].log, 'utf8'), /served from the workspace[\s\S]*BY NAME/)
  // the services ended with the job: nothing of them is left
  assert.equal(processesMatching('http.server 18765'), [])
  assert.equal(processesMatching('19000'), [])
  // a service that never gets ready fails the job with a clear reason
  const g = pipeline(`
jobs:
  broken:
    services:
      db:
        run: exec sleep 37
        ready: {port: 18766, timeout-seconds: 0.5}
    steps:
      - run: echo unreachable
`, '.lab/broken.yml')
  const b = await ci([g, '--json'])
  assert.is(b.code, 1)
  assert.match(job(b, 'broken').error, 'service db was not ready after')
  assert.equal(processesMatching('sleep 37'), [])
  assert.equal(leftovers(), [])
})

rootTest(t, 'artifacts and caches: collected without following links, restored on the next run (copied, or read-only)', async () => {
  writeFileSync(join(repo, 'deps.lock'), 'left-pad 1.0\n')
  const f = pipeline(`
jobs:
  build:
    cache:
      - key: deps-\${{ runner.os }}
        files: [deps.lock]
        paths: [vendor]
      - key: tools
        paths: [tools]
        mode: read-only
    steps:
      - run: |
          if [ -f vendor/left-pad.js ]; then echo "vendor restored: $(cat vendor/left-pad.js)"; else mkdir -p vendor && echo "module.exports = 1" > vendor/left-pad.js; fi
          if [ -f tools/tool ]; then echo "tool restored"; echo x > tools/tool 2>/dev/null && echo "tools writable" || echo "tools read-only"; else mkdir -p tools && echo t > tools/tool; fi
          mkdir -p dist && echo bundle > dist/app.js && ln -s /etc/shadow dist/shadow-link
    artifacts:
      name: bundle
      paths: [dist/]
`)
  const first = await ci([f, '--json'])
  assert.is(first.code, 0, first.stderr)
  const b1 = job(first, 'build')
  assert.equal(b1.caches.map((c) => [c.hit, c.saved]), [[false, true], [false, true]])
  const art = b1.artifacts[0]
  assert.is(art.files, 1)
  assert.is(readFileSync(join(art.path, 'dist/app.js'), 'utf8'), 'bundle\n')
  assert.not.ok(existsSync(join(art.path, 'dist/shadow-link')), 'a link is never collected')
  assert.match(art.skipped.join(), 'shadow-link')

  const second = await ci([f, '--json'])
  const b2 = job(second, 'build')
  assert.equal(b2.caches.map((c) => c.hit), [true, true])
  const log = readFileSync(b2.steps[0].log, 'utf8')
  assert.match(log, 'vendor restored: module.exports = 1')
  assert.match(log, 'tools read-only')
  // a changed lock file is another key: a miss
  writeFileSync(join(repo, 'deps.lock'), 'left-pad 2.0\n')
  const third = await ci([f, '--json'])
  assert.equal(job(third, 'build').caches.map((c) => c.hit), [false, true])
})

rootTest(t, 'secrets: masked in live output, logs, JSON and JUnit, also base64 and multi-line forms; never in the state directory', async () => {
  const f = pipeline(`
jobs:
  leak:
    env:
      TOKEN: \${{ secrets.API_TOKEN }}
      KEY: \${{ secrets.KEY }}
    steps:
      - run: |
          echo "token=$TOKEN"
          printf %s "$TOKEN" | base64
          echo "$TOKEN" | base64
          echo "inline=\${{ secrets.API_TOKEN }}"
          echo "$KEY"
          exit 1
`)
  const secretFile = join(repo, '..', `labci-secrets-${process.pid}`)
  writeFileSync(secretFile, 'KEY="-----BEGIN KEY-----\\nline-two-of-the-key\\n-----END KEY-----"\n')
  try {
    const env = {API_TOKEN: 'tok-9f8e7d6c5b4a'}
    const live = await ci([f, '--secret', 'API_TOKEN', '--secret-file', secretFile], env)
    const r = await ci([f, '--secret', 'API_TOKEN', '--secret-file', secretFile, '--json'], env)
    assert.is(r.code, 1)
    const forms = ['tok-9f8e7d6c5b4a', Buffer.from('tok-9f8e7d6c5b4a').toString('base64').replace(/=+$/, ''), 'line-two-of-the-key', 'BEGIN KEY']
    const everything = [live.stdout, live.stderr, r.stdout, r.stderr]
    const walk = (d) => readdirSync(d, {withFileTypes: true}).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : everything.push(readFileSync(join(d, e.name), 'utf8'))))
    walk(state)
    for (const text of everything) for (const s of forms) assert.not.ok(text.includes(s), `${s} leaked: ${text.slice(0, 400)}`)
    assert.match(live.stdout, 'token=***')
    assert.match(live.stdout, 'inline=***')
    // a value on the command line is refused before anything runs
    const bad = await ci([f, '--secret', 'API_TOKEN=oops'])
    assert.is(bad.code, 125)
    assert.is(bad.stderr.trim().split('\n').length, 1)
  } finally {
    rmSync(secretFile, {force: true})
  }
})

rootTest(t, 'a step past its timeout ends with verdict timeout; later steps are skipped, if: always() ones run', async () => {
  const f = pipeline(`
jobs:
  slow:
    steps:
      - name: sleeper
        run: sleep 30
        timeout-minutes: 0.01
      - run: echo skipped
      - name: report
        if: always()
        run: echo "job was \${{ job.status }}"
`)
  const t0 = Date.now()
  const r = await ci([f, '--json'])
  assert.ok(Date.now() - t0 < 20_000, 'the sleeper was not stopped')
  const j = job(r, 'slow')
  assert.is(j.steps[0].verdict, 'timeout')
  assert.is(j.steps[1].status, 'skipped')
  assert.is(j.steps[2].status, 'success')
  assert.match(readFileSync(j.steps[2].log, 'utf8'), 'job was failure')
  assert.match(r.json.failures[0].message, /slow › sleeper: timed out after 0\.6 s/)
})

rootTest(t, "the checkout cannot be changed nor the runner's home read; workspace: write writes back", async () => {
  const canary = `/root/.labci-canary-${process.pid}`
  writeFileSync(canary, 'runner home secret\n')
  try {
    const f = pipeline(`
jobs:
  attack:
    steps:
      - run: echo changed > README.md && rm -rf .lab && echo "edited the copy" && cat README.md
      - run: cat ${canary}
        continue-on-error: true
      - run: ls -A /root; ls /home 2>&1 || true; test ! -e ${canary}
  writer:
    workspace: write
    steps:
      - run: echo generated > out.txt && ln -s /etc/passwd link && mkdir -p sub && echo x > sub/y
`)
    // workspace: write is a privilege the runner grants (test/security/ci-trust.test.mjs)
    const r = await ci([f, '--json', '--allow', 'workspace-write'])
    assert.is(r.code, 0, JSON.stringify(r.json.failures))
    const a = job(r, 'attack')
    assert.match(readFileSync(a.steps[0].log, 'utf8'), 'changed')
    assert.is(a.steps[1].status, 'failure')
    assert.match(readFileSync(a.steps[1].log, 'utf8'), 'No such file')
    assert.is(readFileSync(join(repo, 'README.md'), 'utf8'), 'the checkout\n')
    assert.ok(existsSync(join(repo, '.lab/ci.yml')))
    // the writer's changes come back, the link as a link
    assert.is(readFileSync(join(repo, 'out.txt'), 'utf8'), 'generated\n')
    assert.is(readFileSync(join(repo, 'sub/y'), 'utf8'), 'x\n')
    assert.ok((await import('node:fs')).lstatSync(join(repo, 'link')).isSymbolicLink())
  } finally {
    rmSync(canary, {force: true})
  }
})

rootTest(t, 'a GitHub Actions workflow: expressions, GITHUB_OUTPUT/GITHUB_ENV, needs outputs, checkout mapped, other uses: skipped (error with --strict)', async () => {
  const f = pipeline(`
name: Test
on: [push, pull_request]
env:
  GLOBAL: g1
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      ver: \${{ steps.v.outputs.version }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with: {node-version: 20}
      - id: v
        run: echo "version=1.2.3" >> "$GITHUB_OUTPUT"
      - run: echo "FROM_ENV=yes" >> "$GITHUB_ENV"
      - run: echo "CI=$CI ws=$GITHUB_WORKSPACE pwd=$(pwd) tmp=$RUNNER_TEMP env=$FROM_ENV g=$GLOBAL v=\${{ steps.v.outputs.version }} job=\${{ github.job }} readme=$(cat README.md)"
  test:
    needs: build
    runs-on: \${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-22.04, ubuntu-24.04]
    steps:
      - run: echo "os=\${{ matrix.os }} ver=\${{ needs.build.outputs.ver }}"
`, '.github/workflows/test.yml')
  const r = await ci([f, '--json'])
  assert.is(r.code, 0, r.stderr)
  assert.is(r.json.kind, 'github')
  const b = job(r, 'build')
  assert.equal(b.steps.map((s) => s.status), ['success', 'unsupported', 'success', 'success', 'success'])
  assert.match(r.stderr, 'actions/setup-node@v4" is not supported')
  assert.match(readFileSync(b.steps[4].log, 'utf8'), 'CI=true ws=/workspace pwd=/workspace tmp=/runner/temp env=yes g=g1 v=1.2.3 job=build readme=the checkout')
  assert.match(readFileSync(job(r, 'test (os=ubuntu-24.04)').steps[0].log, 'utf8'), 'os=ubuntu-24.04 ver=1.2.3')
  const strict = await ci([f, '--strict'])
  assert.is(strict.code, 125)
  assert.match(strict.stderr, /test\.yml:\d+: \/jobs\/build\/steps\/1\/uses: "uses: actions\/setup-node@v4" is not supported/)
})

rootTest(t, 'lab ci logs: the latest run, one job, one step', async () => {
  const f = pipeline(`
jobs:
  one:
    steps:
      - run: echo first-line; echo to-stderr >&2
      - run: echo second-step
`)
  await ci([f, '--quiet'])
  const all = await lab(['ci', 'logs', '--json'], {env: {...process.env, LAB_STATE_DIR: state}})
  const entries = JSON.parse(all.stdout).entries
  assert.ok(entries.some((e) => e.line === 'first-line' && e.stream === 'stdout'))
  assert.ok(entries.some((e) => e.line === 'to-stderr' && e.stream === 'stderr'))
  const one = await lab(['ci', 'logs', '--job', 'one', '--step', '2'], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.match(one.stdout, 'second-step')
  assert.not.match(one.stdout, 'first-line')
})

rootTest(t, 'Ctrl-C cancels (exit 130) and SIGKILL of the CLI leaves no service or step running; the next run sweeps the temp dir', async () => {
  const f = pipeline(`
jobs:
  long:
    services:
      web:
        run: exec python3 -m http.server 18877 --bind 127.0.0.1
        ready: {port: 18877}
    steps:
      - run: exec sleep 41
`)
  for (const sig of ['SIGINT', 'SIGKILL']) {
    const child = spawnLab(['ci', f], {env: {...process.env, LAB_STATE_DIR: state}})
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    const exited = new Promise((r) => child.on('exit', (code, signal) => r({code, signal})))
    assert.ok(await waitFor(() => processesMatching('sleep 41').length > 0, 15_000), `the step never started: ${out}`)
    child.kill(sig)
    const end = await exited
    if (sig === 'SIGINT') {
      assert.is(end.code, 130)
      assert.match(out, 'pipeline cancelled')
    }
    assert.ok(await waitFor(() => processesMatching('sleep 41').length === 0 && processesMatching('http.server 18877').length === 0, 5000), `${sig}: the sandboxes outlived the CLI`)
  }
  const next = await ci([pipeline('jobs:\n  a:\n    steps: [{run: "true"}]\n', '.lab/ok.yml'), '--quiet'])
  assert.is(next.code, 0)
  assert.equal(leftovers(), [])
})

t('malformed pipelines: one line naming the file, line and path; exit 125', async () => {
  const cases = [
    [`jobs:\n  a:\n    needs: b\n    steps: [{run: x}]\n  b:\n    needs: a\n    steps: [{run: x}]\n`, /ci\.yml:\d+: \/jobs\/\w\/needs: the needs form a cycle: (a → b → a|b → a → b)/],
    [`jobs:\n  a:\n    stepz: []\n    steps: [{run: x}]\n`, /ci\.yml:3: \/jobs\/a: must NOT have additional properties \(stepz\)|ci\.yml:\d+: \/jobs\/a.*stepz/],
    [`jobs:\n  a:\n    strategy:\n      matrix:\n        v: 3\n    steps: [{run: x}]\n`, /ci\.yml:5: \/jobs\/a\/strategy\/matrix\/v: axis "v" must be a list of values/],
    [`jobs:\n  a:\n    strategy:\n      matrix:\n        v: [1]\n        exclude: [{w: 1}]\n    steps: [{run: x}]\n`, /\/jobs\/a\/strategy\/matrix\/exclude\/0\/w: exclude names "w"/],
    [`jobs:\n  a:\n    needs: nope\n    steps: [{run: x}]\n`, /\/jobs\/a\/needs: job "a" needs "nope"/],
    [`jobs:\n  a:\n    steps:\n      - run: echo \${{ matrix.x ++ }}\n`, /\/jobs\/a\/steps\/0\/run: invalid expression/],
    [`jobs:\n  a:\n    steps: [{run: x, uses: y}]\n`, /\/jobs\/a\/steps\/0: a step needs exactly one of run or uses/],
  ]
  for (const [yaml, want] of cases) {
    const f = pipeline(yaml)
    const r = await ci([f])
    assert.is(r.code, 125, `${yaml}\n${r.stdout}${r.stderr}`)
    const lines = r.stderr.trim().split('\n')
    assert.is(lines.length, 1, r.stderr)
    assert.match(lines[0], want)
  }
  const missing = await ci([join(repo, 'nope.yml')])
  assert.is(missing.code, 125)
  assert.match(missing.stderr, 'no such pipeline file')
})

t.run()
