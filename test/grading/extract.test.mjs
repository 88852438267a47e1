// Unpacking submissions: what is written, and every archive trick refused with a
// per-submission error (the checks run without root: nothing here needs a sandbox).
import {existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {execFileSync} from 'node:child_process'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {extractSubmission, SubmissionError, submissionId} from '../../dist/grading/extract.js'
import {readBeneath, BeneathError} from '../../dist/grading/beneath.js'
import {makeTar, makeZip} from './archives.mjs'

const t = suite('grading: extracting submissions')
let base
t.before.each(() => {
  base = mkdtempSync(join(tmpdir(), 'labgrade-x-'))
})
t.after.each(() => rmSync(base, {recursive: true, force: true}))

async function unpack(name, bytes, limits) {
  const file = join(base, name)
  writeFileSync(file, bytes)
  // a fresh destination per archive: one test may unpack (or refuse) several
  const dest = mkdtempSync(join(base, 'out-'))
  return {dest, res: await extractSubmission(file, dest, limits ? {limits} : {})}
}

async function refused(name, bytes, pattern, limits) {
  try {
    await unpack(name, bytes, limits)
  } catch (e) {
    assert.instance(e, SubmissionError, `${e}`)
    assert.match(e.message, pattern)
    return e
  }
  assert.unreachable(`${name} was unpacked`)
}

t('a tar.gz, a tar and a zip unpack to the same files, with safe modes and a hash', async () => {
  const files = [{name: 'src/', type: '5'}, {name: 'src/main.c', body: 'int main(){}\n'}, {name: 'run.sh', body: '#!/bin/sh\n', mode: 0o4755}]
  for (const [name, bytes] of [['a.tar.gz', makeTar(files, {gzip: true})], ['b.tar', makeTar(files)], ['c.zip', makeZip([{name: 'src/main.c', body: 'int main(){}\n'}, {name: 'run.sh', body: '#!/bin/sh\n', mode: 0o104755}])]]) {
    const {dest, res} = await unpack(name, bytes)
    assert.is(readFileSync(join(dest, 'src/main.c'), 'utf8'), 'int main(){}\n')
    assert.is(lstatSync(join(dest, 'run.sh')).mode & 0o7777, 0o755, 'set-uid is dropped, executable kept')
    assert.match(res.sha256, /^[0-9a-f]{64}$/)
    rmSync(dest, {recursive: true})
  }
  assert.is(submissionId('/x/alice.tar.gz'), 'alice')
  assert.is(submissionId('/x/..'), '__')
})

t('attack: tar entry "../escape" · defence: refused, nothing written outside', async () => {
  await refused('a.tar', makeTar([{name: '../escape', body: 'x'}]), /climbs out with "\.\."/)
  assert.not.ok(existsSync(join(base, 'escape')))
})

t('attack: tar entry with an absolute path · defence: refused', async () => {
  await refused('a.tar', makeTar([{name: '/tmp/labgrade-abs', body: 'x'}]), /absolute path/)
  assert.not.ok(existsSync('/tmp/labgrade-abs'))
})

t('attack: tar symlink to /etc/passwd then a file written through it · defence: the link is refused', async () => {
  await refused('a.tar', makeTar([{name: 'out.txt', type: '2', linkname: '/etc/passwd'}, {name: 'out.txt', body: 'pwned'}]), /symbolic link to the absolute path/)
  await refused('b.tar', makeTar([{name: 'up', type: '2', linkname: '../..'}, {name: 'up/x', body: 'pwned'}]), /points outside/)
})

t('a symlink that stays inside is kept; writing through it is refused', async () => {
  const {dest} = await unpack('a.tar', makeTar([{name: 'a.txt', body: 'A'}, {name: 'b.txt', type: '2', linkname: 'a.txt'}]))
  assert.is(readlinkSync(join(dest, 'b.txt')), 'a.txt')
  rmSync(dest, {recursive: true})
  await refused('b.tar', makeTar([{name: 'd/', type: '5'}, {name: 'l', type: '2', linkname: 'd'}, {name: 'l/x', body: 'x'}]), /both a symbolic link and a directory/)
})

t('attack: tar hard link to a host file · defence: refused; a link to a file of the submission becomes a copy', async () => {
  await refused('a.tar', makeTar([{name: 'pw', type: '1', linkname: '/etc/passwd'}]), /absolute path|not a file of the submission/)
  await refused('b.tar', makeTar([{name: 'pw', type: '1', linkname: 'etc/passwd'}]), /not a file of the submission/)
  const {dest} = await unpack('c.tar', makeTar([{name: 'a', body: 'A'}, {name: 'b', type: '1', linkname: 'a'}]))
  assert.is(readFileSync(join(dest, 'b'), 'utf8'), 'A')
  assert.is(lstatSync(join(dest, 'b')).nlink, 1)
})

t('attack: device files and FIFOs in a tar · defence: refused', async () => {
  await refused('a.tar', makeTar([{name: 'mem', type: '3'}]), /device file/)
  await refused('b.tar', makeTar([{name: 'f', type: '6'}]), /FIFO/)
})

t('attack: zip bomb · defence: the unpacked size is capped, declared or not', async () => {
  const bomb = makeZip([{name: 'zeros', body: Buffer.alloc(32 * 1024 * 1024)}])
  assert.ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`)
  await refused('bomb.zip', bomb, /zip bomb/, {maxBytes: 4 * 1024 * 1024, maxFiles: 100, maxDepth: 8})
  const gz = makeTar([{name: 'zeros', body: Buffer.alloc(16 * 1024 * 1024)}], {gzip: true})
  await refused('bomb.tar.gz', gz, /more than 4194304 bytes/, {maxBytes: 4 * 1024 * 1024, maxFiles: 100, maxDepth: 8})
  const many = makeTar(Array.from({length: 60}, (_, i) => ({name: `f${i}`, body: ''})))
  await refused('many.tar', many, /more than 50 files/, {maxBytes: 1e6, maxFiles: 50, maxDepth: 8})
})

t('attack: zip with "../" or a symlink out · defence: refused', async () => {
  await refused('a.zip', makeZip([{name: '../evil', body: 'x'}]), /\.\.|invalid relative path|not a readable zip/)
  await refused('b.zip', makeZip([{name: 'l', body: '/etc/passwd', mode: 0o120777}]), /absolute path/)
})

t('a damaged archive is a submission error, not half a submission', async () => {
  await refused('a.tar.gz', Buffer.from('not gzip at all, just text'), /not a readable tar archive/)
  await refused('a.zip', Buffer.from('PK nothing'), /not a readable zip/)
})

t('attack: a submission directory with a symlink, a FIFO or a hard link to a host file · defence: refused', async () => {
  const mk = (name) => {
    const d = join(base, name)
    mkdirSync(d)
    writeFileSync(join(d, 'ok.txt'), 'ok')
    return d
  }
  const out = () => {
    const d = join(base, `out-${Math.random()}`)
    mkdirSync(d)
    return d
  }
  const s1 = mk('s1')
  symlinkSync('/etc/passwd', join(s1, 'out.txt'))
  let err = await extractSubmission(s1, out()).catch((e) => e)
  assert.match(err.message, /symbolic link/)
  const s2 = mk('s2')
  execFileSync('mkfifo', [join(s2, 'pipe')])
  err = await extractSubmission(s2, out()).catch((e) => e)
  assert.match(err.message, /FIFO/)
  const host = join(base, 'host-secret')
  writeFileSync(host, 'secret')
  const s3 = mk('s3')
  linkSync(host, join(s3, 'secret'))
  err = await extractSubmission(s3, out()).catch((e) => e)
  assert.match(err.message, /hard link/)
})

t('readBeneath: never follows a link, never opens a FIFO, refuses hard links', () => {
  writeFileSync(join(base, 'f'), 'data')
  mkdirSync(join(base, 'd'))
  symlinkSync('/etc', join(base, 'etc'))
  symlinkSync('/etc/passwd', join(base, 'd/pw'))
  execFileSync('mkfifo', [join(base, 'fifo')])
  assert.is(readBeneath(base, 'f', 100).toString(), 'data')
  for (const [rel, reason] of [['etc/passwd', 'symlink'], ['d/pw', 'symlink'], ['fifo', 'not-a-file'], ['missing', 'missing'], ['f/x', 'not-a-directory']]) {
    try {
      readBeneath(base, rel, 100)
      assert.unreachable(rel)
    } catch (e) {
      assert.instance(e, BeneathError, String(e))
      assert.is(e.reason, reason, rel)
    }
  }
  linkSync(join(base, 'f'), join(base, 'g'))
  assert.throws(() => readBeneath(base, 'g', 100), /hard link/)
})

t.run()
