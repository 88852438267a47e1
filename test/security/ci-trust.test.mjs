// The trust boundary of `lab ci`: the pipeline is read from the checkout under test (a
// pull request's own files), so nothing it says may widen what its sandboxes can do.
// Each case names the attack and the defence and checks from inside the steps; the
// host files the attacks aim at are checked afterwards.
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'

const t = suite('security: lab ci trust boundaries')
let repo, state, outside

function pipeline(yaml, file = '.lab/ci.yml') {
  mkdirSync(join(repo, file, '..'), {recursive: true})
  writeFileSync(join(repo, file), yaml)
  return join(repo, file)
}

async function ci(args, env = {}) {
  const r = await lab(['ci', ...args, '--json'], {env: {...process.env, GITHUB_ACTIONS: '', LAB_STATE_DIR: state, ...env}, timeout: 60_000})
  let json = null
  try {
    json = JSON.parse(r.stdout)
  } catch {
    assert.unreachable(`--json printed no JSON:\n${r.stdout}\n${r.stderr}`)
  }
  return {...r, json}
}

const stepLog = (r, key, i = 0) => readFileSync(r.json.jobs.find((j) => j.key === key).steps[i].log, 'utf8')
const git = (...args) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {encoding: 'utf8'})

function filesUnder(dir) {
  const out = []
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n)
      out.push(p)
      if (statSync(p).isDirectory()) walk(p)
    }
  }
  if (existsSync(dir)) walk(dir)
  return out
}

t.before.each(() => {
  repo = mkdtempSync(join(tmpdir(), 'labci-trust-repo-'))
  state = mkdtempSync(join(tmpdir(), 'labci-trust-state-'))
  outside = mkdtempSync(join(tmpdir(), 'labci-trust-host-'))
  writeFileSync(join(repo, 'README.md'), 'the checkout\n')
  git('init', '-q', '-b', 'main')
})
t.after.each(() => {
  for (const d of [repo, state, outside]) rmSync(d, {recursive: true, force: true})
})

const PRIVILEGED = `
jobs:
  grab:
    workspace: write
    container:
      network: host
      cap-add: [SYS_ADMIN]
      seccomp: unconfined
    steps:
      - shell: bash
        run: |
          echo '[core]' >> .git/config; echo 'fsmonitor = "touch /tmp/pwned"' >> .git/config
          grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status
          ls /sys/class/net
          (exec 3<>/dev/tcp/127.0.0.1/$PORT && echo REACHED-HOST-LOOPBACK) 2>/dev/null || echo no-host-loopback
        env:
          PORT: \${{ vars.PORT }}
`

rootTest(t, 'attack: the pipeline grants itself workspace: write, host network, cap-add, seccomp: unconfined — defence: capped unless the runner allows it, each refusal named with its flag', async () => {
  // the step closes its end at once: a reset is expected, not an error of the test
  const server = createServer((s) => {
    s.on('error', () => {})
    s.end('hello\n')
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  try {
    git('add', '-A')
    git('commit', '-qm', 'base')
    const gitConfig = readFileSync(join(repo, '.git/config'), 'utf8')
    const f = pipeline(PRIVILEGED)
    const r = await ci([f, '--var', `PORT=${port}`])
    assert.is(r.code, 0, r.stderr)
    const out = stepLog(r, 'grab')
    // from inside: no added capability (SYS_ADMIN is bit 21), seccomp still filtering, only loopback, the host's loopback unreachable
    const capEff = BigInt('0x' + /CapEff:\s*([0-9a-f]+)/.exec(out)[1])
    assert.is(capEff & (1n << 21n), 0n, 'SYS_ADMIN was granted')
    assert.match(out, /Seccomp:\s*2/)
    assert.match(out, 'no-host-loopback')
    assert.not.match(out, 'REACHED-HOST-LOOPBACK')
    assert.not.match(out, 'eth0')
    // the checkout and its .git/config (a core.fsmonitor line runs code at the next git) are untouched
    assert.is(readFileSync(join(repo, '.git/config'), 'utf8'), gitConfig)
    // every refusal is reported with the flag that would allow it
    const refused = r.json.trust.refused.map((x) => x.privilege).sort()
    assert.equal(refused, ['cap-add', 'network-host', 'seccomp', 'workspace-write'])
    for (const k of refused) assert.match(r.stderr, `--allow ${k}`)
    assert.is(r.json.trust.level, 'local')

    // the runner's side grants them: --allow (here workspace-write and network-host)
    const g = await ci([f, '--var', `PORT=${port}`, '--allow', 'workspace-write', '--allow', 'network-host'])
    assert.is(g.code, 0, g.stderr)
    assert.match(stepLog(g, 'grab'), 'REACHED-HOST-LOOPBACK')
    assert.match(readFileSync(join(repo, '.git/config'), 'utf8'), 'fsmonitor')
    assert.equal(g.json.trust.refused.map((x) => x.privilege).sort(), ['cap-add', 'seccomp'])
  } finally {
    server.close()
  }
})

rootTest(t, 'attack: a policy file planted in the checkout, --allow of an unknown key — defence: a policy must lie outside the checkout, keys are checked', async () => {
  const f = pipeline(PRIVILEGED)
  writeFileSync(join(repo, 'policy.yml'), 'allow: [workspace-write]\n')
  const inside = await lab(['ci', f, '--policy', join(repo, 'policy.yml')], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.is(inside.code, 125)
  assert.match(inside.stderr, 'inside the checkout')
  const bad = await lab(['ci', f, '--allow', 'root'], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.is(bad.code, 125)
  assert.match(bad.stderr, 'no such privilege')
  writeFileSync(join(outside, 'policy.yml'), 'allow: [workspace-write]\n')
  const ok = await ci([f, '--policy', join(outside, 'policy.yml'), '--var', 'PORT=1'])
  assert.is(ok.code, 0, ok.stderr)
  assert.ok(!ok.json.trust.refused.some((x) => x.privilege === 'workspace-write'))
  assert.match(readFileSync(join(repo, '.git/config'), 'utf8'), 'fsmonitor')
})

rootTest(t, 'attack: container.seccomp names a host file (absolute, or a link in the checkout) to read it as root — defence: paths resolve inside the workspace copy, errors never echo content', async () => {
  const hostSecret = join(outside, 'secret.json')
  writeFileSync(hostSecret, 'HOSTSECRET-0600-content\n')
  chmodSync(hostSecret, 0o600)
  const abs = pipeline(`
jobs:
  a:
    container: {seccomp: ${hostSecret}}
    steps: [{run: "true"}]
`)
  const r1 = await lab(['ci', abs, '--allow', 'seccomp'], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.is(r1.code, 125)
  assert.match(r1.stderr, /container\/seccomp/)
  assert.not.match(r1.stdout + r1.stderr, 'HOSTSECRET')

  symlinkSync(hostSecret, join(repo, 'profile.json'))
  writeFileSync(join(repo, 'bad.json'), 'REPO-CONTENT-not-json\n')
  const f = pipeline(`
jobs:
  link:
    container: {seccomp: profile.json}
    steps: [{run: "true"}]
  garbage:
    container: {seccomp: bad.json}
    steps: [{run: "true"}]
`)
  const r = await ci([f, '--allow', 'seccomp'])
  assert.is(r.code, 1)
  const all = r.stdout + r.stderr
  assert.not.match(all, 'HOSTSECRET')
  assert.not.match(all, 'REPO-CONTENT')
  assert.match(r.json.jobs.find((j) => j.key === 'link').error, 'not a regular file of the workspace')
  assert.match(r.json.jobs.find((j) => j.key === 'garbage').error, 'not a valid seccomp profile')
})

rootTest(t, 'attack: cache poisoning — an untrusted run saves a tool under the key a trusted run restores — defence: scoped caches (untrusted writes its own scope, reads the default one)', async () => {
  const f = pipeline(`
jobs:
  build:
    cache: {key: tools-v1, paths: [tools]}
    steps:
      - run: |
          if [ -x tools/tool ]; then tools/tool; else mkdir -p tools; printf '#!/bin/sh\\necho "tool of $WHO"\\n' > tools/tool; chmod +x tools/tool; echo fresh; fi
        env:
          WHO: \${{ vars.WHO }}
`)
  // the pull request plants its tool first
  const pr = await ci([f, '--untrusted', '--var', 'WHO=pr'])
  assert.is(pr.code, 0, pr.stderr)
  assert.match(stepLog(pr, 'build'), 'fresh')
  assert.match(pr.json.trust.cacheScope, /^pr-/)
  // the trusted run does not restore it
  const trusted = await ci([f, '--var', 'WHO=trusted'])
  assert.is(trusted.code, 0, trusted.stderr)
  assert.match(stepLog(trusted, 'build'), 'fresh')
  assert.not.match(stepLog(trusted, 'build'), 'tool of')
  // another untrusted run reads the trusted default scope (as a pull request reads its base branch's caches)
  const pr2 = await ci([f, '--untrusted', '--event', 'pull_request', '--ref', 'main', '--var', 'WHO=pr2'])
  assert.is(pr2.code, 0, pr2.stderr)
  assert.match(stepLog(pr2, 'build'), 'tool of pr2')
})

rootTest(t, 'attack: secrets outside the masker (step name, log file name, cache key, --json, JUnit) and an untrusted run given secrets — defence: every name masked, keys hashed, --untrusted gets none', async () => {
  const secret = 'S3cr3t-Token-Value-42'
  const f = pipeline(`
jobs:
  deploy:
    cache: {key: "k-\${{ secrets.TOKEN }}", paths: [out]}
    steps:
      - name: deploy \${{ secrets.TOKEN }}
        run: mkdir -p out; echo "$T" | rev
        env:
          T: \${{ secrets.TOKEN }}
`)
  const r = await ci([f, '--secret', 'TOKEN', '--junit', join(outside, 'junit.xml')], {TOKEN: secret})
  assert.is(r.code, 0, r.stderr)
  assert.not.match(r.stdout, secret)
  assert.not.match(r.stderr, secret)
  assert.match(r.json.jobs[0].steps[0].name, 'deploy ***')
  assert.not.match(readFileSync(join(outside, 'junit.xml'), 'utf8'), secret)
  // no file of the state directory is named after the secret or holds it (cache metadata included)
  const files = filesUnder(state)
  assert.ok(files.some((p) => p.endsWith('meta.json')), 'the cache was not saved')
  for (const p of files) {
    assert.not.match(p, secret)
    if (statSync(p).isFile()) assert.not.match(readFileSync(p, 'utf8'), secret, p)
  }
  // a GitHub workflow: actions/cache keyed by a secret, an artifact named by one
  const w = pipeline(`
on: push
jobs:
  gh:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p out && echo x > out/f
      - uses: actions/cache@v4
        with: {path: out, key: "gh-\${{ secrets.TOKEN }}"}
      - uses: actions/upload-artifact@v4
        with: {name: "\${{ secrets.TOKEN }}", path: out}
`, '.github/workflows/s.yml')
  const g = await ci([w, '--secret', 'TOKEN'], {TOKEN: secret})
  assert.is(g.code, 1)
  assert.match(g.json.jobs[0].steps[2].reason, 'holds a secret')
  assert.not.match(g.stdout + g.stderr, secret)
  for (const p of filesUnder(state)) {
    assert.not.match(p, secret)
    if (statSync(p).isFile()) assert.not.match(readFileSync(p, 'utf8'), secret, p)
  }
  // an untrusted run: no secret at all
  const u = await ci([f, '--secret', 'TOKEN', '--untrusted'], {TOKEN: secret})
  assert.match(u.stderr, 'untrusted: it gets no secrets')
  assert.not.match(stepLog(u, 'deploy'), secret.split('').reverse().join(''))
})

rootTest(t, 'attack: expression injection through a branch name and a step output derived from it — defence: a warning on every run (and --lint fails), naming the path and the env: fix', async () => {
  const payload = join(outside, 'event.json')
  writeFileSync(payload, JSON.stringify({pull_request: {title: 't', head: {ref: 'x";echo INJECTED;"', repo: {full_name: 'a/b'}}, base: {repo: {full_name: 'a/b'}}}}))
  const f = pipeline(`
on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    outputs:
      branch: \${{ steps.b.outputs.name }}
    steps:
      - id: b
        run: echo "name=\${{ github.head_ref }}" >> "$GITHUB_OUTPUT"
      - run: echo "\${{ steps.b.outputs.name }}"
  b:
    needs: a
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ needs.a.outputs.branch }}"
`, '.github/workflows/ci.yml')
  const r = await ci([f, '--event', 'pull_request', '--eventpath', payload])
  assert.match(r.stderr, /jobs\/a\/steps\/0\/run: .*github\.head_ref/)
  assert.match(r.stderr, /jobs\/a\/steps\/1\/run: .*steps\.b\.outputs\.name/)
  assert.match(r.stderr, /jobs\/b\/steps\/0\/run: .*needs\.a\.outputs\.branch/)
  assert.match(r.stderr, 'env:')
  const l = await lab(['ci', f, '--lint', '--json'], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.is(l.code, 1)
  assert.is(JSON.parse(l.stdout).findings.length, 3)
})

rootTest(t, 'attack: a pull request rewrites the pipeline it is tested with — defence: --trusted-ref runs the pipeline as it is on the base branch (granted what that version asks), never the pull request\'s', async () => {
  pipeline(`
jobs:
  gen:
    workspace: write
    steps: [{run: "echo from-main > generated.txt"}]
`)
  git('add', '-A')
  git('commit', '-qm', 'base')
  git('checkout', '-qb', 'pr')
  const f = pipeline(`
jobs:
  gen:
    workspace: write
    container: {cap-add: [SYS_ADMIN]}
    steps: [{run: "echo from-pr > generated.txt"}]
`)
  git('commit', '-qam', 'pr')
  const r = await ci([f, '--trusted-ref', 'main'])
  assert.is(r.code, 0, r.stderr)
  assert.is(readFileSync(join(repo, 'generated.txt'), 'utf8'), 'from-main\n')
  assert.is(r.json.trust.level, 'trusted')
  assert.equal(r.json.trust.refused, [])
  const missing = await lab(['ci', f, '--trusted-ref', 'nosuchbranch'], {env: {...process.env, LAB_STATE_DIR: state}})
  assert.is(missing.code, 125)
  assert.match(missing.stderr, 'no .lab/ci.yml on nosuchbranch')
})

rootTest(t, 'attack: a pipeline sent through the queue asks a worker for workspace: write — defence: a queued run is granted no privilege and caches in a scope of its own', async () => {
  const saved = process.env.LAB_STATE_DIR
  process.env.LAB_STATE_DIR = state
  try {
    const {loadPipelineJob, runPipelineJob} = await import('../../dist/queue/adapters.js')
    const f = pipeline(`
jobs:
  w:
    workspace: write
    steps: [{run: "echo planted > planted.txt"}]
`)
    const p = await loadPipelineJob(f, repo, false)
    const {result} = await runPipelineJob(p, {jobs: 1})
    assert.is(result.status, 'success')
    assert.not.ok(existsSync(join(repo, 'planted.txt')), 'the worker\'s copy of the workspace was written back')
    assert.equal(result.trust.refused.map((x) => x.privilege), ['workspace-write'])
    assert.match(result.trust.cacheScope, /^pr-/)
  } finally {
    if (saved === undefined) delete process.env.LAB_STATE_DIR
    else process.env.LAB_STATE_DIR = saved
  }
})

t.run()
