// Hostile builds, each named by its attack and the defence that stops it: reading
// outside the context (.. and symlinks), secrets hidden by .dockerignore, RUN steps that
// reach for the network or the host, layer bombs, device files and hostile archives.
// Every refusal is one clear line naming the step, the Dockerfile line and a fix, and
// leaves no sandbox, mount or temporary directory behind.
import {execFileSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {helperProcesses, lab, leftoverMounts, processesMatching, ROOT, rootTest, sleep, spawnLab, waitFor} from '../helpers.mjs'
import {tarOf} from '../images/fixtures.mjs'
import {makeBase, makeContext, sandboxIds} from './fixtures.mjs'

const t = suite('build: hostile builds')
let fx
let n = 0

t.before(async () => {
  fx = await makeBase()
})
t.after(() => rmSync(fx.work, {recursive: true, force: true}))

/** Builds a Dockerfile in a fresh context with these files; returns the result. */
async function build(dockerfile, files = {}, {args = [], env = {}, setup} = {}) {
  const ctx = makeContext(join(fx.work, `ctx${++n}`), {Dockerfile: dockerfile, ...files})
  setup?.(ctx)
  return lab(['build', '-t', `hostile:${n}`, ...args, ctx], {env: {...fx.env, ...env}, timeout: 120_000})
}

function noLeftovers() {
  assert.equal(readdirSync(join(fx.state, 'images', 'tmp')), [], 'no work directory is left in the store')
  assert.equal(sandboxIds(fx.state), [], 'no sandbox is left recorded')
  assert.equal(leftoverMounts(), [], 'no mount is left')
}

rootTest(t, 'attack: COPY ../outside reads beyond the context — defence: paths are resolved inside the context, .. out of it is refused', async () => {
  writeFileSync(join(fx.work, 'outside.txt'), 'host secret\n')
  const r = await build('FROM base:1\nCOPY ../outside.txt /x\n')
  assert.is(r.code, 1)
  assert.match(r.stderr, /^lab: step 2\/2 \(Dockerfile line 2\) COPY \.\.\/outside\.txt \/x: \.\.\/outside\.txt is outside the build context \(/)
  noLeftovers()
})

rootTest(t, 'attack: a context symlink to a host file, or to a parent directory — defence: a followed link must stay in the context', async () => {
  writeFileSync(join(fx.work, 'host-secret.txt'), 'host secret\n')
  let r = await build('FROM base:1\nCOPY link /x\n', {}, {setup: (c) => symlinkSync(join(fx.work, 'host-secret.txt'), join(c, 'link'))})
  assert.is(r.code, 1)
  assert.match(r.stderr, /the symlink link points out of the build context \(to \/.*host-secret\.txt\)/)
  r = await build('FROM base:1\nCOPY up/host-secret.txt /x\n', {}, {setup: (c) => symlinkSync('..', join(c, 'up'))})
  assert.is(r.code, 1)
  assert.match(r.stderr, /the symlink up points out of the build context/)
  noLeftovers()
})

rootTest(t, 'attack: a context of one user hard-links a file of another (root\'s) — defence: a file with several links is read only when the context\'s owner owns it', async () => {
  writeFileSync(join(fx.work, 'root-only.txt'), 'root secret\n', {mode: 0o600})
  const r = await build('FROM base:1\nCOPY . /ctx/\n', {'mine.txt': 'mine\n'}, {setup: (c) => {
    execFileSync('chown', ['-R', '65534', c])
    execFileSync('ln', [join(fx.work, 'root-only.txt'), join(c, 'linked.txt')])
  }})
  assert.is(r.code, 1)
  assert.match(r.stderr, /linked\.txt in the build context is a hard link to a file of another user \(uid 0\)/)
})

rootTest(t, 'attack: a symlink inside a copied directory — defence: it is copied as a link and resolves inside the image, not on the host', async () => {
  const r = await build('FROM base:1\nCOPY dir/ /d/\n', {'dir/plain.txt': 'plain\n'}, {setup: (c) => symlinkSync(join(fx.work, 'host-secret.txt'), join(c, 'dir', 'l'))})
  assert.is(r.code, 0, r.stderr)
  const run = await lab(['sandbox', 'run', `hostile:${n}`, '--', 'sh', '-c', 'readlink /d/l; cat /d/l >/dev/null 2>&1 && echo READ || echo unreadable; cat /d/plain.txt'], {env: fx.env})
  assert.is(run.stdout, `${join(fx.work, 'host-secret.txt')}\nunreadable\nplain\n`)
})

rootTest(t, 'attack: copy a secret the author excluded — defence: what .dockerignore excludes does not exist for COPY, globs or the context copy', async () => {
  const files = {'.dockerignore': 'secret.txt\n**/*.key\n', 'secret.txt': 'password\n', 'keys/id.key': 'k\n', 'keep.txt': 'keep\n'}
  let r = await build('FROM base:1\nCOPY . /ctx/\nCOPY *.txt /txt/\n', files)
  assert.is(r.code, 0, r.stderr)
  const run = await lab(['sandbox', 'run', `hostile:${n}`, '--', 'sh', '-c', 'cd /ctx && find . -type f | sort; ls /txt'], {env: fx.env})
  assert.is(run.stdout, './.dockerignore\n./Dockerfile\n./keep.txt\nkeep.txt\n')
  r = await build('FROM base:1\nCOPY secret.txt /s\n', files)
  assert.is(r.code, 1)
  assert.match(r.stderr, /secret\.txt was not found in the build context \(.*\.dockerignore/)
})

rootTest(t, 'attack: a RUN that reaches for the network — defence: no network unless --network host, and the failure says so', async () => {
  let hits = 0
  const server = createServer((s) => {
    hits++
    s.end('reached\n')
  })
  await new Promise((res) => server.listen(0, '127.0.0.1', res))
  const port = server.address().port
  try {
    const df = `FROM base:1\nRUN nc 127.0.0.1 ${port} </dev/null\n`
    const r = await build(df)
    assert.is(r.code, 1)
    assert.match(r.stderr, /step 2\/2 \(Dockerfile line 2\) RUN nc .*: returned a non-zero code: 1/)
    assert.match(r.stderr, /need the network, which a build does not have: build with --network host/)
    assert.is(hits, 0, 'nothing reached the host')
    const ok = await build(df, {}, {args: ['--network', 'host']})
    assert.is(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /^reached$/m, 'with --network host the same step reaches loopback')
  } finally {
    server.close()
  }
  noLeftovers()
})

rootTest(t, 'attack: a RUN that reaches for the host — defence: its own root, mount and pid namespaces; what it writes lands in its layer only', async () => {
  const mark = `lab-build-mark-${process.pid}`
  writeFileSync(join(fx.work, 'host-only.txt'), 'host\n')
  const r = await build(`FROM base:1\nRUN cat ${join(fx.work, 'host-only.txt')} 2>/dev/null && echo SAW-HOST-FILE; kill -0 ${process.pid} 2>/dev/null && echo SAW-HOST-PID; echo x > /${mark} && echo wrote; mkdir /owned && chown app:app /owned && echo chowned; grep CapEff /proc/self/status\n`)
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^chowned$/m, 'Docker\'s default capabilities, in the sandbox\'s own user namespace: a RUN can install software')
  const eff = BigInt('0x' + /^CapEff:\s+([0-9a-f]+)$/m.exec(r.stdout)[1])
  for (const [cap, bit] of [['SYS_ADMIN', 21n], ['NET_RAW', 13n], ['SYS_PTRACE', 19n], ['SYS_MODULE', 16n]]) assert.is((eff >> bit) & 1n, 0n, `no ${cap}`)
  assert.not.match(r.stdout, /^SAW-HOST/m)
  assert.match(r.stdout, /^wrote$/m)
  assert.not.ok(existsSync(`/${mark}`), 'the write stayed in the layer')
  const inside = await lab(['sandbox', 'run', `hostile:${n}`, '--', 'sh', '-c', `cat /${mark}; stat -c %u:%g /owned`], {env: fx.env})
  assert.is(inside.stdout, 'x\n1000:1000\n')
})

rootTest(t, 'attack: a layer bomb (one huge file, or many files) — defence: the layer cap stops the step and names the cap', async () => {
  const env = {LAB_IMAGE_MAX_LAYER_SIZE: '8m', LAB_IMAGE_MAX_LAYER_FILES: '300'}
  let r = await build('FROM base:1\nRUN dd if=/dev/zero of=/big bs=1M count=200\n', {}, {env})
  assert.is(r.code, 1)
  assert.match(r.stderr, /RUN dd .*: stopped: it wrote more than the layer cap of 8388608 bytes \(write less in one step, or raise LAB_IMAGE_MAX_LAYER_SIZE/)
  r = await build('FROM base:1\nRUN i=0; while [ $i -lt 3000 ]; do : > /f$i; i=$((i+1)); done\n', {}, {env})
  assert.is(r.code, 1)
  assert.match(r.stderr, /stopped: it made more than the layer cap of 300 files/)
  noLeftovers()
})

rootTest(t, 'attack: a device or fifo in the context — defence: refused by name (a build copies files, directories and links)', async () => {
  const r = await build('FROM base:1\nCOPY . /ctx/\n', {}, {setup: (c) => execFileSync('mkfifo', [join(c, 'pipe')])})
  assert.is(r.code, 1)
  assert.match(r.stderr, /pipe in the build context is a device or fifo/)
})

rootTest(t, 'attack: ADD of a URL, and of an archive with ../ and absolute members — defence: builds are offline; archives get the store\'s layer checks', async () => {
  let r = await build('FROM base:1\nADD http://127.0.0.1:9/x /x\n')
  assert.is(r.code, 1)
  assert.match(r.stderr, /ADD of a URL \(http:\/\/127\.0\.0\.1:9\/x\) needs the network, which builds do not use \(download the file into the build context/)
  const evil = tarOf([{name: 'ok.txt', data: Buffer.from('ok\n')}, {name: '../../escaped.txt', data: Buffer.from('evil\n')}])
  r = await build('FROM base:1\nADD evil.tar /opt/\n', {}, {setup: (c) => writeFileSync(join(c, 'evil.tar'), evil)})
  assert.is(r.code, 1)
  assert.match(r.stderr, /\.\./)
  assert.not.ok(existsSync(join(fx.work, 'escaped.txt')))
  noLeftovers()
})

rootTest(t, 'a build killed (SIGKILL) in the middle of a RUN leaves no process or mount, and its work directory is swept by the next use of the store', async () => {
  const ctx = makeContext(join(fx.work, `ctx${++n}`), {Dockerfile: 'FROM base:1\nRUN echo started && sleep 37.25\n'})
  const child = spawnLab(['build', ctx], {env: fx.env})
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  await waitFor(() => out.includes('started'), 30_000)
  child.kill('SIGKILL')
  await new Promise((res) => child.on('close', res))
  const ours = () => [...helperProcesses().filter((p) => p.cmd.startsWith(ROOT)), ...processesMatching('sleep 37.25')]
  await waitFor(() => ours().length === 0, 10_000)
  assert.equal(ours(), [], 'the RUN\'s sandbox ended with the build')
  assert.equal(leftoverMounts(), [])
  await sleep(100)
  const ls = await lab(['image', 'ls', '-q'], {env: fx.env})
  assert.is(ls.code, 0)
  noLeftovers()
})

rootTest(t, 'a failing RUN shows its output, its exit code and its Dockerfile line, and how to debug from the last good image', async () => {
  const r = await build('FROM base:1\nENV A=1\n\nRUN echo before-failing && exit 3\nRUN echo never\n')
  assert.is(r.code, 1)
  assert.match(r.stdout, /^before-failing$/m)
  assert.not.match(r.stdout, /^never$/m)
  assert.match(r.stderr, /^lab: step 3\/4 \(Dockerfile line 4\) RUN echo before-failing && exit 3: returned a non-zero code: 3 \(its output is above; run the last good image to debug: lab sandbox run [0-9a-f]{12} -- sh\)$/m)
  noLeftovers()
})

t.run()
