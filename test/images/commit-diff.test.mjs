// commit, diff and export of sandboxes run on images: Docker's A/C/D lines (a deleted
// lower file included), a committed image that carries the change and --change, a flat
// export, and skopeo as the reference reader of a saved committed image.
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {lab, rootTest} from '../helpers.mjs'
import {hasSkopeo} from './fixtures.mjs'
import {makeRunImages} from './run-fixtures.mjs'

const t = suite('images: commit, diff, export')
let fx

t.before(async () => {
  fx = await makeRunImages()
  const r = await L(['sandbox', 'run', '--name', 'work', '--read-only=false', 'run:sh', '--', 'sh', '-c', 'echo changed > /etc/motd; rm /etc/passwd; mkdir -p /opt/tool; echo 1 > /opt/tool/v; rm -r /data'])
  assert.is(r.code, 0, r.stderr)
})
t.after(async () => {
  await L(['sandbox', 'rm', '-f', 'work', 'plain'])
  rmSync(fx.work, {recursive: true, force: true})
})

function L(args, opts = {}) {
  return lab(args, {env: fx.env, ...opts})
}

rootTest(t, 'diff prints A, C and D lines as Docker does, a deleted lower file included; --json has the same', async () => {
  const r = await L(['sandbox', 'diff', 'work'])
  assert.is(r.code, 0, r.stderr)
  assert.equal(r.stdout.trim().split('\n'), ['D /data', 'C /etc', 'C /etc/motd', 'D /etc/passwd', 'A /opt', 'A /opt/tool', 'A /opt/tool/v'])
  const j = JSON.parse((await L(['sandbox', 'diff', '--json', 'work'])).stdout)
  assert.equal(j.find((c) => c.Path === '/etc/passwd'), {Kind: 'D', Path: '/etc/passwd'})
})

rootTest(t, 'commit makes an image a new sandbox runs with the change; --change, -m and -a go into it', async () => {
  const r = await L(['sandbox', 'commit', '-m', 'tool added', '-a', 'Ada <ada@example.org>', '--change', 'CMD ["/bin/cat", "/opt/tool/v"]', '--change', 'ENV STAGE=committed', 'work', 'course/work:v2'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/)
  const run = await L(['sandbox', 'run', 'course/work:v2', '--'])
  assert.is(run.stdout, '1\n', 'the new Cmd runs and sees the committed file')
  const inside = await L(['sandbox', 'run', 'course/work:v2', '--', 'sh', '-c', 'cat /etc/motd; ls /etc/passwd /data 2>&1 | wc -l; echo $STAGE'])
  assert.is(inside.stdout, 'changed\n2\ncommitted\n', 'the change is there and the deletions stay deleted')
  const [top] = JSON.parse((await L(['image', 'history', '--json', 'course/work:v2'])).stdout)
  assert.is(top.Comment, 'tool added')
  assert.match(top.CreatedBy, /^sh -c echo changed/, 'the history names the sandbox\'s command')
  const inspect = JSON.parse((await L(['image', 'inspect', 'course/work:v2'])).stdout)[0]
  assert.is(inspect.Author, 'Ada <ada@example.org>')
  assert.equal(inspect.Config.Cmd, ['/bin/cat', '/opt/tool/v'])
  assert.ok(inspect.RootFS.Layers.length === 3, 'two layers of the image and the committed one')
})

rootTest(t, 'commit keeps a -u given at run time as the image\'s User (Docker\'s Config.User); without -u the image\'s stays', async () => {
  const r = await L(['sandbox', 'run', '--name', 'asuser', '-u', 'www-data', 'run:user', '--', 'true'])
  assert.is(r.code, 0, r.stderr)
  const c = await L(['sandbox', 'commit', 'asuser', 'course/asuser:v1'])
  assert.is(c.code, 0, c.stderr)
  const cfg = JSON.parse((await L(['image', 'inspect', 'course/asuser:v1'])).stdout)[0].Config
  assert.is(cfg.User, 'www-data')
  assert.is((await L(['sandbox', 'run', '--rm', 'course/asuser:v1', '--', 'id', '-un'])).stdout, 'www-data\n')
  const p = await L(['sandbox', 'run', '--name', 'asimage', 'run:user', '--', 'true'])
  assert.is(p.code, 0, p.stderr)
  assert.is((await L(['sandbox', 'commit', 'asimage', 'course/asimage:v1'])).code, 0)
  assert.is(JSON.parse((await L(['image', 'inspect', 'course/asimage:v1'])).stdout)[0].Config.User, 'app')
  await L(['sandbox', 'rm', '-f', 'asuser', 'asimage'])
})

rootTest(t, 'export writes the merged root as a flat tar: changes in, deletions out', async () => {
  const out = join(fx.work, 'work.tar')
  const r = await L(['sandbox', 'export', '-o', out, 'work'])
  assert.is(r.code, 0, r.stderr)
  const names = execFileSync('tar', ['-tf', out], {encoding: 'utf8'}).split('\n')
  for (const n of ['bin/busybox', 'etc/motd', 'opt/tool/v', 'home/app/']) assert.ok(names.includes(n), `${n} is in the export`)
  for (const n of ['etc/passwd', 'data/', 'data/new', 'etc/remove-me']) assert.ok(!names.includes(n), `${n} is not`)
  assert.is(execFileSync('tar', ['-xOf', out, 'etc/motd'], {encoding: 'utf8'}), 'changed\n')
})

rootTest(t, 'commit, diff and export of a sandbox on the host\'s root: one line saying why not', async () => {
  await L(['sandbox', 'run', '--name', 'plain', '--', 'true'])
  for (const verb of ['diff', 'commit', 'export']) {
    const r = await L(['sandbox', verb, 'plain'])
    assert.is.not(r.code, 0)
    assert.match(r.stderr, /does not run on an image/)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
})

if (hasSkopeo) {
  rootTest(t, 'skopeo reads a saved committed image: its layers and config match ours', async () => {
    const tarPath = join(fx.work, 'saved.tar')
    const s = await L(['image', 'save', '-o', tarPath, 'course/work:v2'])
    assert.is(s.code, 0, s.stderr)
    const ours = JSON.parse((await L(['image', 'inspect', 'course/work:v2'])).stdout)[0]
    const info = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${tarPath}`], {encoding: 'utf8'}))
    assert.is(info.Layers.length, 3)
    const cfg = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci-archive:${tarPath}`], {encoding: 'utf8'}))
    assert.equal(cfg.config.Cmd, ['/bin/cat', '/opt/tool/v'])
    assert.equal(cfg.rootfs.diff_ids, ours.RootFS.Layers)
  })
}

rootTest(t, 'the image a sandbox runs on is kept: rm refuses it without -f, prune -a leaves it', async () => {
  const r = await L(['image', 'rm', 'run:sh'])
  assert.is(r.code, 1)
  assert.match(r.stderr, /unable to remove run:sh: sandbox work runs on image/)
  const p = JSON.parse((await L(['image', 'prune', '-a', '--json'])).stdout)
  assert.ok(!p.ImagesDeleted.some((d) => d.Untagged === 'run:sh'), JSON.stringify(p))
  assert.is((await L(['sandbox', 'diff', 'work'])).code, 0, 'the sandbox still has its layers')
})

t.run()
