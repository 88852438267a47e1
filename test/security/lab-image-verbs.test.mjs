// Attacks on the host through a lab's image verbs (a lab's `command:` or a student's
// `commandFile:` answer), and the defences: every file a verb reads or writes is a plain
// file of the work directory, reached without links; the lab's images and sandboxes live
// in its own state directory, never the user's.
import {execFileSync} from 'node:child_process'
import {existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {confineVerbArgs, splitVerb} from '../../dist/labs/verbs.js'
import {loadLab} from '../../dist/labs/load.js'
import {runLab} from '../../dist/labs/runner.js'
import {refusedWith} from './verb-refusal.mjs'
import {lab, rootTest} from '../helpers.mjs'

const t = suite('security: image verbs in labs')
let work
let outside
const ctx = () => ({work, where: 'answer.cmd', writable: ['shared'], sandboxName: (n) => `lab1-${n}`})
const refused = refusedWith(ctx)

t.before(() => {
  work = mkdtempSync(join(tmpdir(), 'labsec-'))
  outside = mkdtempSync(join(tmpdir(), 'labsec-out-'))
  writeFileSync(join(work, 'img.tar'), 'x')
  writeFileSync(join(outside, 'secret'), 'secret\n')
  symlinkSync(join(outside, 'secret'), join(work, 'link.tar'))
  symlinkSync(outside, join(work, 'dirlink'))
  linkSync(join(outside, 'secret'), join(work, 'hard.tar'))
  mkdirSync(join(work, 'shared'))
})
t.after(() => {
  rmSync(work, {recursive: true, force: true})
  rmSync(outside, {recursive: true, force: true})
})

t('attack: write a tarball outside the work directory (absolute, "..") → refused before anything runs', async () => {
  await refused('image save', ['-o', '/etc/cron.d/x', 'img'], /absolute path/)
  await refused('image save', ['--output=../x.tar', 'img'], /"\.\."/)
  await refused('sandbox export', ['-o', '../../x', 'web'], /"\.\."/)
})

t('attack: write or read through a symbolic link or a hard link planted in the work directory → refused', async () => {
  await refused('image save', ['-o', 'dirlink/x.tar', 'img'], /symbolic link/)
  await refused('image save', ['-o', 'link.tar', 'img'], /symbolic link/)
  await refused('image import', ['link.tar', 'x'], /symbolic link/)
  await refused('image load', ['-i', 'hard.tar'], /hard link/)
  await refused('image save', ['-o', 'hard.tar', 'img'], /hard link/)
  assert.is(readFileSync(join(outside, 'secret'), 'utf8'), 'secret\n')
})

t('attack: an output where a sandbox writes (it could swap the path for a link meanwhile) → refused', async () => {
  await refused('image save', ['-o', 'shared/x.tar', 'img'], /sandboxes write to/)
})

t('attack: pipe through stdin/stdout, or leave out -o so a tarball floods the output → refused', async () => {
  await refused('image import', ['-', 'x'], /stdin or stdout/)
  await refused('image load', ['-i', '-'], /stdin or stdout/)
  await refused('image save', ['img'], /a lab takes it in a file/)
})

t('attack: reach the user\'s store with --state-dir, or a verb outside the table → refused', async () => {
  await refused('image ls', ['--state-dir', '/var/lib/lab'], /--state-dir is not available in labs/)
  await refused('image ls', ['--state-dir=/var/lib/lab'], /--state-dir is not available in labs/)
  for (const words of [['system', 'prune'], ['volume', 'rm', 'x'], ['login', 'x'], ['image', 'evil']]) {
    assert.throws(() => splitVerb(words, 'answer.cmd'), /is not a verb labs run/)
  }
  await refused('image ls', ['--no-such-flag'], /has no option --no-such-flag/)
})

t('attack: pull from or push to a registry off this machine (or through a mirror) → refused before any traffic', async () => {
  await refused('image pull', ['busybox'], /on docker\.io, and a lab reaches no registry off this machine/)
  await refused('image pull', ['quay.io/x/y:1'], /on quay\.io/)
  await refused('image push', ['10.0.0.1:5000/x:1'], /on 10\.0\.0\.1:5000/)
  await refused('image pull', ['--registry-mirror', '10.0.0.1', '127.0.0.1:5000/x:1'], /--registry-mirror is not available in labs/)
  assert.equal(await confineVerbArgs('image pull', ['-q', '127.0.0.1:5000/x:1'], ctx()), ['-q', '127.0.0.1:5000/x:1'])
  assert.equal(await confineVerbArgs('image push', ['localhost:5000/x@sha256:' + 'a'.repeat(64)], ctx()), ['localhost:5000/x@sha256:' + 'a'.repeat(64)])
})

t('a plain answer passes: files become ./relative paths of the work directory, sandbox names the lab\'s', async () => {
  assert.equal(await confineVerbArgs('image import', ['--change', 'CMD ["/bin/sh"]', 'img.tar', 'x:1'], ctx()), ['--change', 'CMD ["/bin/sh"]', './img.tar', 'x:1'])
  assert.equal(await confineVerbArgs('image save', ['-o', 'out.tar', 'x:1'], ctx()), ['-o', './out.tar', 'x:1'])
  assert.equal(await confineVerbArgs('sandbox commit', ['-m', 'msg', 'web', 'x:2'], ctx()), ['-m', 'msg', 'lab1-web', 'x:2'])
  assert.equal(await confineVerbArgs('sandbox export', ['--output', 'fs.tar', 'web'], ctx()), ['--output', './fs.tar', 'lab1-web'])
})

t('attack: lab build with a context out of the work directory (absolute, "..", through a link) → refused', async () => {
  await refused('build', ['/'], /absolute path/)
  await refused('build', ['-t', 'x:1', '..'], /"\.\."/)
  await refused('build', ['app/../..'], /"\.\."/)
  await refused('build', ['dirlink'], /symbolic link/)
  await refused('build', ['img.tar'], /is not a directory/)
})

t('attack: lab build with a Dockerfile outside the work directory, through a link, or from stdin → refused', async () => {
  await refused('build', ['-f', '/etc/shadow', '.'], /absolute path/)
  await refused('build', ['--file=../Dockerfile', '.'], /"\.\."/)
  await refused('build', ['-f', 'link.tar', '.'], /symbolic link/)
  await refused('build', ['-f', 'hard.tar', '.'], /hard link/)
  await refused('build', ['-f', '-', '.'], /stdin or stdout/)
  // no -f: CONTEXT/Dockerfile is read, so a link planted there is refused too
  mkdirSync(join(work, 'ctx'))
  symlinkSync(join(outside, 'secret'), join(work, 'ctx', 'Dockerfile'))
  await refused('build', ['ctx'], /ctx\/Dockerfile is a symbolic link/)
  rmSync(join(work, 'ctx'), {recursive: true})
  // a Dockerfile where a sandbox writes could be swapped for a link between the check and the read
  writeFileSync(join(work, 'shared', 'Dockerfile'), 'FROM scratch\n')
  await refused('build', ['shared'], /shared\/Dockerfile is in a directory sandboxes write to/)
  await refused('build', ['-f', 'shared/Dockerfile', '.'], /is in a directory sandboxes write to/)
  rmSync(join(work, 'shared', 'Dockerfile'))
})

t('attack: lab build writes its id file out of the work directory, or gives RUN steps the host\'s network → refused', async () => {
  await refused('build', ['--iidfile', '/etc/passwd', '.'], /absolute path/)
  await refused('build', ['--iidfile', 'link.tar', '.'], /symbolic link/)
  await refused('build', ['--iidfile', 'shared/id', '.'], /sandboxes write to/)
  await refused('build', ['--network', 'host', '.'], /--network host is not available in labs/)
  await refused('build', ['--network=host', '.'], /--network host is not available in labs/)
  await refused('build', ['--state-dir', '/var/lib/lab', '.'], /--state-dir is not available in labs/)
})

t('a plain lab build passes: the context and files become ./ paths of the work directory', async () => {
  mkdirSync(join(work, 'app'))
  writeFileSync(join(work, 'app', 'Dockerfile'), 'FROM scratch\n')
  writeFileSync(join(work, 'Dockerfile.dev'), 'FROM scratch\n')
  try {
    assert.equal(splitVerb(['build', '-t', 'x:1', 'app'], 'answer.cmd'), {verb: 'build', args: ['-t', 'x:1', 'app']})
    assert.equal(await confineVerbArgs('build', ['-t', 'x:1', '--no-cache', 'app'], ctx()), ['-t', 'x:1', '--no-cache', './app'])
    assert.equal(await confineVerbArgs('build', ['-f', 'Dockerfile.dev', '--iidfile', 'id.txt', '--network', 'none', './app/'], ctx()), ['-f', './Dockerfile.dev', '--iidfile', './id.txt', '--network', 'none', './app'])
    assert.equal(await confineVerbArgs('build', ['-f', 'app/Dockerfile', '.'], ctx()), ['-f', './app/Dockerfile', '.'])
  } finally {
    rmSync(join(work, 'app'), {recursive: true})
    rmSync(join(work, 'Dockerfile.dev'))
  }
})

rootTest(t, 'attack: a lab lists or removes the user\'s images → it sees and changes only its own store', async () => {
  const state = mkdtempSync(join(tmpdir(), 'labsec-user-'))
  const labDir = join(mkdtempSync(join(tmpdir(), 'labsec-lab-')), 'peek')
  const env = {...process.env, LAB_STATE_DIR: state}
  try {
    writeFileSync(join(work, 'fs.tar'), execFileSync('tar', ['-C', outside, '-cf', '-', 'secret']))
    const imp = await lab(['image', 'import', join(work, 'fs.tar'), 'users/own:1'], {env})
    assert.is(imp.code, 0, imp.stderr)
    mkdirSync(labDir)
    writeFileSync(join(labDir, 'lab.yaml'), `id: peek\ntitle: Peek\nchapter: "0"\nsource: test\nestimatedMinutes: 1\nsteps:\n  - id: s\n    title: S\n    actions:\n      - command: image ls\n        as: ls\n      - command: image rm users/own:1\n        as: rm\n    checks:\n      - name: sees nothing\n        of: ls\n        stdout: {notContains: users/own}\n      - name: removes nothing\n        of: rm\n        exitCode: {not: 0}\n`)
    const old = process.env.LAB_STATE_DIR
    process.env.LAB_STATE_DIR = state // the caller's own store, as a user would have it
    let o
    try {
      o = await runLab(await loadLab(labDir), {mode: 'walkthrough', workDir: mkdtempSync(join(tmpdir(), 'labsec-w-')), removeWorkDir: true})
    } finally {
      if (old === undefined) delete process.env.LAB_STATE_DIR
      else process.env.LAB_STATE_DIR = old
    }
    assert.is(o.status, 'passed', JSON.stringify(o.steps, null, 1))
    const after = await lab(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], {env})
    assert.match(after.stdout, /users\/own:1/, 'the user\'s image is still there')
  } finally {
    rmSync(state, {recursive: true, force: true})
    rmSync(join(labDir, '..'), {recursive: true, force: true})
  }
})

t.run()
