// The lab actions the image labs stand on: archive (a tarball of the host's static
// busybox, the same bytes every time), the lab's own registry (a sandbox of the lab on loopback,
// ended with the lab, also when the lab run was killed), the {{port}} and {{digest}}
// templates, and the lab schema's checks of command/commandFile/archive.
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {archiveBytes, staticBusybox} from '../../dist/labs/archive.js'
import {loadLab} from '../../dist/labs/load.js'
import {startLabRegistry} from '../../dist/labs/registry.js'
import {lifecycle} from '../../dist/sandbox/lifecycle.js'
import {renderTemplate} from '../../dist/labs/render.js'
import {removeStateDir} from '../../dist/labs/workdir.js'
import {lab} from '../helpers.mjs'

const t = suite('labs: image actions')
let tmp
t.before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'labimga-'))
})
t.after(() => rmSync(tmp, {recursive: true, force: true}))

const hasRegistry = (() => {
  try {
    execFileSync('docker-registry', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()
const alive = (pid) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t('the host\'s busybox is found and known to be static', () => {
  const bb = staticBusybox()
  assert.ok(bb, 'busybox-static is installed here (the labs need it)')
  // ldd (libc-bin, on every Debian) is the reference: it refuses a static program
  const r = spawnSync('ldd', [bb], {encoding: 'utf8'})
  assert.match(r.stdout + r.stderr, /not a dynamic executable/)
  assert.is(spawnSync('ldd', ['/bin/ls']).status, 0)
})

t('archive: busybox, applet links, files and directories, owned by 0:0, the same bytes every time', () => {
  const spec = {to: 'x.tar', busybox: ['sh', 'cat'], files: {'etc/motd': 'hi\n'}, dirs: ['tmp']}
  const a = archiveBytes(spec)
  assert.ok(a.equals(archiveBytes(spec)), 'deterministic: the layer digest a lab shows is stable')
  writeFileSync(join(tmp, 'a.tar'), a)
  const list = execFileSync('tar', ['-tvf', join(tmp, 'a.tar'), '--numeric-owner'], {encoding: 'utf8'}).trim().split('\n')
  const names = list.map((l) => l.split(/\s+/).slice(5).join(' '))
  assert.equal(names, ['bin/', 'etc/', 'tmp/', 'bin/busybox', 'bin/cat -> busybox', 'bin/sh -> busybox', 'etc/motd'])
  for (const l of list) assert.match(l.split(/\s+/)[1], /^0\/0$/)
  // the tarball is a root a sandbox could run: extract it and run its sh
  const root = join(tmp, 'root')
  mkdirSync(root)
  execFileSync('tar', ['-C', root, '-xf', join(tmp, 'a.tar')])
  assert.is(execFileSync(join(root, 'bin', 'sh'), ['-c', 'echo ok'], {encoding: 'utf8'}), 'ok\n')
})

t('archive: names that leave the tree, or an applet that is a path, are refused', () => {
  for (const bad of [{files: {'../etc/passwd': 'x'}}, {files: {'/etc/passwd': 'x'}}, {dirs: ['a/../b']}, {busybox: ['../sh']}, {busybox: ['busybox']}]) {
    assert.throws(() => archiveBytes({to: 'x.tar', ...bad}), /not a plain relative path|not an applet name/, JSON.stringify(bad))
  }
  assert.throws(() => archiveBytes({to: 'x.tar', busybox: ['sh']}, null), /no statically linked busybox/)
})

t('{{port "registry"}} and {{digest TEXT}} render; PORT before the lab runs; a service the lab has not is an error', () => {
  const ctx = {lab: {id: 'l', title: 'L'}, work: '/w', results: {push: {stdout: `1.0: digest: sha256:${'a'.repeat(64)} size: 400\n`}}, ports: {registry: 5123}}
  assert.is(renderTemplate('127.0.0.1:{{port "registry"}}/x@{{digest results.push.stdout}}', ctx), `127.0.0.1:5123/x@sha256:${'a'.repeat(64)}`)
  assert.is(renderTemplate('127.0.0.1:{{port "registry"}}', {...ctx, ports: undefined}), '127.0.0.1:PORT', 'a lesson read before the lab runs (lab show)')
  assert.throws(() => renderTemplate('{{port "cache"}}', ctx), /no service "cache"/)
  assert.throws(() => renderTemplate('{{digest results.push.stderr}}', ctx), /no sha256 digest/)
})

function labWith(name, steps, solution = {}) {
  const dir = join(tmp, name)
  mkdirSync(join(dir, 'solution'), {recursive: true})
  writeFileSync(join(dir, 'lab.yaml'), `id: ${name}\ntitle: T\nchapter: "0"\nsource: test\nestimatedMinutes: 1\nsteps:\n${steps}`)
  for (const [f, text] of Object.entries(solution)) writeFileSync(join(dir, 'solution', f), text)
  return dir
}

t('the loader refuses a verb outside the table, a bad archive path, an answer file with no reference, --state-dir, a registry off this machine, a path out, an unknown option, an unknown sandbox', async () => {
  const cases = [
    ['l-verb', `  - id: s\n    title: S\n    actions:\n      - command: image evil x\n`, /image evil.*is not a verb labs run/],
    ['l-sys', `  - id: s\n    title: S\n    actions:\n      - command: system prune\n`, /command/],
    ['l-arch', `  - id: s\n    title: S\n    actions:\n      - archive: {to: ../x.tar}\n`, /to/],
    ['l-file', `  - id: s\n    title: S\n    actions:\n      - commandFile: 01.cmd\n`, /01\.cmd is neither in solution\/ nor in fixtures\//],
    ['l-state', `  - id: s\n    title: S\n    actions:\n      - command: image ls --state-dir /var/lib/lab\n`, /--state-dir is not available in labs/],
    ['l-hub', `  - id: s\n    title: S\n    actions:\n      - command: image pull busybox\n`, /on docker\.io, and a lab reaches no registry off this machine/],
    ['l-out', `  - id: s\n    title: S\n    actions:\n      - command: image save -o /etc/x.tar x:1\n`, /absolute path/],
    ['l-opt', `  - id: s\n    title: S\n    actions:\n      - command: image ls --bogus\n`, /has no option --bogus/],
    ['l-sbx', `  - id: s\n    title: S\n    actions:\n      - command: sandbox diff nobody\n`, /unknown sandbox "nobody"/],
  ]
  for (const [name, steps, re] of cases) {
    let err
    try {
      await loadLab(labWith(name, steps))
    } catch (e) {
      err = e
    }
    assert.ok(err, `${name} loaded`)
    assert.match(err.problems?.join('\n') ?? err.message, re)
  }
})

t('a step is marked with what it needs: images for verbs, static-busybox for archive, registry for {{port}} or $REGISTRY', async () => {
  const l = await loadLab(labWith('l-needs', `  - id: a\n    title: A\n    actions:\n      - archive: {to: b.tar, busybox: [sh]}\n      - command: image import b.tar x:1\n  - id: b\n    title: B\n    actions:\n      - command: image push 127.0.0.1:{{port "registry"}}/x:1\n  - id: c\n    title: C\n    actions:\n      - commandFile: 01.cmd\n    exercise: {file: 01.cmd, task: pull}\n    checks:\n      - name: ok\n        exitCode: 0\n`, {'01.cmd': 'lab image pull $REGISTRY/x:1\n'}))
  assert.equal(l.steps[0].needs.sort(), ['images', 'static-busybox'])
  assert.equal(l.steps[1].needs.sort(), ['images', 'registry'])
  assert.equal(l.steps[2].needs.sort(), ['images', 'registry'])
})

t('a host without docker-registry shows the registry step as unavailable with the install command', async () => {
  const dir = labWith('l-noreg', `  - id: s\n    title: S\n    actions:\n      - command: image push 127.0.0.1:{{port "registry"}}/x:1\n`)
  const r = await lab(['run', dir, '--json'], {env: {...process.env, PATH: '/nonexistent', LAB_STATE_DIR: join(tmp, 'st')}})
  const o = JSON.parse(r.stdout)
  assert.is(o.steps[0].status, 'unavailable', r.stdout)
  assert.match(o.steps[0].reason, /apt-get install docker-registry/)
})

if (hasRegistry) {
  const answers = async (host) => {
    try {
      return (await fetch(`http://${host}/v2/`)).status === 200
    } catch {
      return false
    }
  }

  t('the lab\'s registry runs in a sandbox of the lab, answers on 127.0.0.1, and stop removes it', async () => {
    const st = join(tmp, 'reg1')
    mkdirSync(st, {mode: 0o711})
    const lc = lifecycle({stateDir: st})
    const r = await startLabRegistry(lc, 'l1', st)
    assert.match(r.host, /^127\.0\.0\.1:\d+$/)
    assert.ok(await answers(r.host))
    const rec = lc.store.all().find((x) => x.name === 'l1.registry')
    assert.ok(rec, 'it is one of the lab\'s sandboxes')
    assert.ok(lc.state(rec).running)
    await r.stop()
    assert.ok(!(await answers(r.host)), 'it has ended')
    assert.equal(lc.store.all(), [])
  })

  t('a registry left by a killed lab run ends with the sweep of its state directory', async () => {
    const st = join(tmp, 'reg2')
    mkdirSync(st, {mode: 0o711})
    const r = await startLabRegistry(lifecycle({stateDir: st}), 'l2', st) // never stopped: the lab run "was killed"
    assert.ok(await answers(r.host))
    await removeStateDir(st)
    assert.ok(!(await answers(r.host)), 'the sweep ended it')
    assert.ok(!existsSync(st))
  })
}

t.run()
