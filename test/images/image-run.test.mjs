// Sandboxes on images, proved from inside: the image's owners under a remapped user
// namespace (idmapped layers), its whiteouts and opaque directories, its config (Env,
// Entrypoint/Cmd, WorkingDir, USER from its own passwd), writes that never reach the
// shared layers, set-id files that give nothing, and no upper layer or mount left behind
// by --rm, rm or a CLI killed with SIGKILL.
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {LAB, lab, leftoverMounts, rootTest, spawnLab, waitFor} from '../helpers.mjs'
import {layerDirs, makeRunImages, sandboxIds, treeDigest} from './run-fixtures.mjs'

const t = suite('images: sandboxes on images')
let fx
t.before(async () => {
  fx = await makeRunImages()
})
t.after(async () => {
  await lab(['sandbox', 'rm', '-f', 'keep1', 'cp1', 'killed'], {env: fx.env})
  rmSync(fx.work, {recursive: true, force: true})
})

async function run(args, opts = {}) {
  const r = await lab(['sandbox', 'run', ...args], {env: fx.env, ...opts})
  return r
}
async function ok(args) {
  const r = await run(args)
  assert.is(r.code, 0, `lab sandbox run ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

rootTest(t, 'image files keep the image\'s owners inside a remapped user namespace (idmapped layers)', async () => {
  const out = await ok(['run:sh', '--', 'sh', '-c', 'cat /proc/self/uid_map; stat -c "%u:%g %n" /bin/busybox /home/app /var/www/index.html /data/new; id -u'])
  const [map, ...lines] = out.trim().split('\n')
  const [inside, outside, count] = map.trim().split(/\s+/).map(Number)
  assert.equal([inside, count], [0, 65536])
  assert.ok(outside >= 65536, `root inside is host id ${outside}, not a host system id`)
  assert.equal(lines, ['0:0 /bin/busybox', '1000:1000 /home/app', '33:33 /var/www/index.html', '1000:1000 /data/new', '0'])
})

rootTest(t, 'the layers stack as the image says: a whiteout deletes, an opaque directory hides, a top file wins', async () => {
  const out = await ok(['run:sh', '--', 'sh', '-c', 'ls /etc/remove-me 2>&1; ls /data; cat /etc/motd'])
  assert.match(out, /remove-me: No such file/)
  assert.ok(!out.includes('old1'), out)
  assert.match(out, /^new$/m)
  assert.match(out, /from the top layer/)
})

rootTest(t, 'the image\'s config applies as Docker applies it: Entrypoint + Cmd, Env (-e wins), WorkingDir', async () => {
  assert.is(await ok(['run:v1', '--']), 'ep from-cmd\n')
  assert.is(await ok(['run:v1', '--', 'given', 'args']), 'ep given args\n', 'arguments after -- replace Cmd, not the entrypoint')
  assert.is(await ok(['--image', 'run:v1', '--', 'x']), 'ep x\n')
  const env = await ok(['-e', 'BAR=request', '--entrypoint', '/bin/sh', 'run:v1', '--', '-c', 'echo $FOO $BAR $PATH; pwd'])
  assert.is(env, 'image request /bin\n/srv/work\n')
  assert.is(await ok(['--entrypoint', '', 'run:v1', '--', '/bin/echo', 'cleared']), 'cleared\n')
  const r = await run(['--entrypoint', '', 'run:v1', '--'])
  assert.is.not(r.code, 0, '--entrypoint "" clears Cmd too: nothing to run')
  assert.match(r.stderr, /no command/)
})

rootTest(t, 'USER resolves against the image\'s own /etc/passwd and /etc/group (supplementary groups as runc gives them), not the host\'s', async () => {
  assert.is(await ok(['run:user', '--']), 'uid=1000(app) gid=1000(app) groups=50(staff),60(web)\n')
  assert.is(await ok(['-u', 'www-data', 'run:user', '--', 'id']), 'uid=33(www-data) gid=33(www-data) groups=60(web)\n')
  assert.is(await ok(['-u', '1000', 'run:user', '--', 'id']), 'uid=1000(app) gid=1000(app) groups=50(staff),60(web)\n', 'a uid found in passwd gets its groups too')
  assert.is(await ok(['-u', 'app:app', 'run:user', '--', 'id']), 'uid=1000(app) gid=1000(app)\n', 'an explicit group means that group alone')
  assert.is(await ok(['-u', '4242', 'run:user', '--', 'id']), 'uid=4242 gid=4242\n', 'a uid without a passwd entry has no groups')
  assert.is(await ok(['run:user', '--', 'sh', '-c', 'echo $HOME']), '/home/app\n')
  const r = await run(['-u', 'daemon', 'run:user', '--', 'id'])
  assert.is.not(r.code, 0, 'daemon is a host user, not one of the image\'s')
  assert.match(r.stderr, /unknown user "daemon"/)
})

rootTest(t, 'exec -u resolves in the image\'s user database too; exec without -u runs as the sandbox\'s user with its groups', async () => {
  const L = (args) => lab(args, {env: fx.env})
  const d = await run(['-d', '--name', 'exec1', 'run:user', '--', 'sleep', '30'])
  assert.is(d.code, 0, d.stderr)
  try {
    const asWww = await L(['sandbox', 'exec', '-u', 'www-data', 'exec1', 'id'])
    assert.is(asWww.stdout, 'uid=33(www-data) gid=33(www-data) groups=60(web)\n', asWww.stderr)
    assert.is((await L(['sandbox', 'exec', 'exec1', 'id'])).stdout, 'uid=1000(app) gid=1000(app) groups=50(staff),60(web)\n')
    const host = await L(['sandbox', 'exec', '-u', 'daemon', 'exec1', 'id'])
    assert.is.not(host.code, 0, 'daemon is a user of the host\'s synthesized database, not of the image')
    assert.match(host.stderr, /unknown user "daemon"/)
  } finally {
    await L(['sandbox', 'rm', '-f', 'exec1'])
  }
})

rootTest(t, 'writes go to the sandbox\'s upper layer: the shared layer directories stay as they were', async () => {
  const before = layerDirs(fx.state).map(treeDigest)
  const ro = await run(['run:sh', '--', 'touch', '/etc/x'])
  assert.is.not(ro.code, 0, 'the root is read-only by default')
  assert.match(ro.stderr, /Read-only file system/)
  const out = await ok(['--read-only=false', 'run:sh', '--', 'sh', '-c', 'echo changed > /etc/motd; rm /bin/ls /etc/passwd; mkdir /new; touch /new/f; cat /etc/motd; ls /new'])
  assert.is(out, 'changed\nf\n')
  assert.equal(layerDirs(fx.state).map(treeDigest), before)
  assert.is(await ok(['run:sh', '--', 'cat', '/etc/motd']), 'from the top layer\n', 'a new sandbox starts from the image again')
})

rootTest(t, 'a set-uid-root file of a layer gives no privilege: the root is nosuid and the bit stays inert', async () => {
  const out = await ok(['-u', 'app', 'run:sh', '--', 'sh', '-c', 'stat -c "%a %u" /suid/cat; /suid/cat /proc/self/status | grep -E "^(Uid|CapEff)"; grep " / / " /proc/self/mountinfo'])
  const [mode, uid, cap, mount] = out.trim().split('\n')
  assert.is(mode, '4755 0', 'the set-uid bit is in the image')
  assert.match(uid, /^Uid:\s+1000\s+1000\s+1000\s+1000$/)
  assert.match(cap, /^CapEff:\s+0+$/)
  assert.match(mount, /\bnosuid\b/)
})

rootTest(t, 'unknown image: one line saying how to get it, exit non-zero', async () => {
  const r = await run(['nothere:v9', '--', 'true'])
  assert.is(r.code, 125)
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  assert.match(r.stderr, /image "nothere:v9" is not in the store: pull it with `lab image pull nothere:v9` or load it/)
})

rootTest(t, '--rm leaves no upper layer or mount; a kept sandbox keeps its upper until rm', async () => {
  const mounts = leftoverMounts().length
  await ok(['--rm', '--read-only=false', 'run:sh', '--', 'touch', '/gone'])
  assert.equal(sandboxIds(fx.state), [])
  assert.is(leftoverMounts().length, mounts)
  await ok(['--name', 'keep1', '--read-only=false', 'run:sh', '--', 'touch', '/kept'])
  const [id] = sandboxIds(fx.state)
  assert.ok(existsSync(join(fx.state, 'sandboxes', id, 'rootfs', 'upper', 'kept')), 'the upper is kept beside the record')
  // a restart mounts the same upper: the file is still there
  assert.is((await lab(['sandbox', 'start', 'keep1'], {env: fx.env})).code, 0)
  assert.is((await lab(['sandbox', 'wait', 'keep1'], {env: fx.env})).stdout.trim(), '0', 'touch of the kept file works again')
  const r = await lab(['sandbox', 'rm', 'keep1'], {env: fx.env})
  assert.is(r.code, 0, r.stderr)
  assert.ok(!existsSync(join(fx.state, 'sandboxes', id)), 'rm takes the upper with the record')
  assert.is(leftoverMounts().length, mounts)
})

rootTest(t, 'a SIGKILLed CLI leaves no upper layer once the supervisor notices, nor any mount', async () => {
  const mounts = leftoverMounts().length
  // a managed volume puts the run under a supervisor that watches the CLI
  const child = spawnLab(['sandbox', 'run', '--rm', '--name', 'killed', '-v', 'killvol:/v', '--read-only=false', 'run:sh', '--', 'sh', '-c', 'touch /here; sleep 60'], {env: fx.env})
  const up = await waitFor(() => sandboxIds(fx.state).some((id) => existsSync(join(fx.state, 'sandboxes', id, 'rootfs', 'upper', 'here'))), 20000)
  assert.ok(up, 'the sandbox wrote into its upper layer')
  child.kill('SIGKILL')
  const gone = await waitFor(() => sandboxIds(fx.state).length === 0, 20000)
  assert.ok(gone, 'the record and its upper are removed')
  await lab(['sandbox', 'ps', '-a'], {env: fx.env})
  assert.is(leftoverMounts().length, mounts)
  await lab(['volume', 'rm', 'killvol'], {env: fx.env})
})

rootTest(t, 'cp out of and into an image sandbox works on its root; what comes in is in its upper', async () => {
  const r = await lab(['sandbox', 'run', '-d', '--name', 'cp1', '--read-only=false', 'run:sh', '--', 'sleep', '60'], {env: fx.env})
  assert.is(r.code, 0, r.stderr)
  const out = join(fx.work, 'motd.out')
  assert.is((await lab(['sandbox', 'cp', 'cp1:/etc/motd', out], {env: fx.env})).code, 0)
  assert.is(readFileSync(out, 'utf8'), 'from the top layer\n')
  const src = join(fx.work, 'incoming.txt')
  writeFileSync(src, 'in\n')
  const c = await lab(['sandbox', 'cp', src, 'cp1:/incoming.txt'], {env: fx.env})
  assert.is(c.code, 0, c.stderr)
  const diff = await lab(['sandbox', 'diff', 'cp1'], {env: fx.env})
  assert.match(diff.stdout, /^A \/incoming.txt$/m)
  await lab(['sandbox', 'rm', '-f', 'cp1'], {env: fx.env})
})

rootTest(t, 'rootless: an ordinary user runs its own image; layers are not idmapped, so its files show as root', async () => {
  const user = 'lab-rootless'
  if (spawnSync('id', [user]).status !== 0 && spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]).status !== 0) return
  const home = execFileSync('mktemp', ['-d', '/tmp/li-home.XXXXXX'], {encoding: 'utf8'}).trim()
  execFileSync('chown', [user, home])
  try {
    const tarFile = join(home, 'root.tar')
    execFileSync('tar', ['-C', join(fx.work, 'base'), '-cf', tarFile, '.'])
    execFileSync('chown', [user, tarFile])
    const as = (args) => spawnSync('runuser', ['-u', user, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${home}/run`, process.execPath, '--', LAB, ...args], {encoding: 'utf8', timeout: 60_000})
    const imp = as(['image', 'import', tarFile, 'mine:v1'])
    assert.is(imp.status, 0, imp.stderr)
    const r = as(['sandbox', 'run', '--read-only=false', 'mine:v1', '--', 'sh', '-c', 'stat -c %u /home/app; id -u; touch /new && echo wrote'])
    assert.is(r.status, 0, r.stderr)
    assert.is(r.stdout, '0\n0\nwrote\n')
  } finally {
    execFileSync('rm', ['-rf', home])
  }
})

t.run()
