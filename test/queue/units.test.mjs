// The queue's checks that need no Redis: the URL, a job's data, a payload manifest, labels,
// and packing a tree (links travel as links, hard links and the cap are refused).
import {linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

const {parseQueueUrl, redact} = await import('../../dist/queue/connection.js')
const {checkJobData, jobIdOf, newQueueRunId} = await import('../../dist/queue/job.js')
const {checkManifest, packTree, PayloadError} = await import('../../dist/queue/payload.js')
const {queueFor, labelsOfQueue, parseLabels} = await import('../../dist/queue/keys.js')
const {canServe} = await import('../../dist/queue/worker.js')

const t = suite('queue: checks without Redis')
const H = 'a'.repeat(64)

t('queue URLs: password, ACL user, TLS, database; bad ones say what to write', () => {
  const a = parseQueueUrl('redis://:se%40cret@127.0.0.1:6380/2')
  assert.equal([a.options.host, a.options.port, a.options.db, a.options.password, a.tls], ['127.0.0.1', 6380, 2, 'se@cret', false])
  assert.is(a.display, 'redis://:***@127.0.0.1:6380/2')
  const b = parseQueueUrl('rediss://grader:pw@queue.example')
  assert.equal([b.options.username, b.options.port, b.tls, Boolean(b.options.tls)], ['grader', 6379, true, true])
  for (const [bad, re] of [['http://x:1', /scheme "http"/], ['redis://h:1/x', /database "x"/], ['nonsense', /not a URL/], ['redis://h:1/0?x=1', /query/]]) {
    assert.throws(() => parseQueueUrl(bad), (e) => re.test(e.message) && e.hint)
  }
  assert.is(redact('redis://user:topsecret@h:1'), 'redis://user:***@h:1')
})

t('job data: every field is checked by name before a worker touches anything', () => {
  const run = newQueueRunId()
  const ok = {v: 1, kind: 'grade', run, index: 0, id: 'alice', spec: H, specFile: 'grading.yaml', submission: H, name: 'alice.tar.gz', shape: 'file'}
  assert.equal(checkJobData(ok), [])
  assert.equal(checkJobData({v: 1, kind: 'ci', run, index: 0, workspace: H, file: '.lab/ci.yml', strict: false}), [])
  assert.match(checkJobData({...ok, specFile: '../../etc/passwd'}).join(), /specFile/)
  assert.match(checkJobData({...ok, name: '..'}).join(), /name/)
  assert.match(checkJobData({...ok, spec: 'x'}).join(), /spec: not a SHA-256/)
  assert.match(checkJobData({...ok, kind: 'shell'}).join(), /kind/)
  assert.match(checkJobData({...ok, run: 'lab:blob:x'}).join(), /run/)
  assert.match(jobIdOf(run, 3, H), new RegExp(`^${run}\\.3\\.a{16}$`))
})

t('manifests: absolute paths, "..", duplicates and missing hashes are refused', () => {
  const m = (entries) => ({format: 'lab-payload', version: 1, entries, bytes: 0})
  checkManifest(m([{path: 'a', type: 'dir'}, {path: 'a/b', type: 'file', sha256: H}, {path: 'a/l', type: 'symlink', target: '/etc/passwd'}]))
  for (const [entries, re] of [
    [[{path: '/etc/x', type: 'file', sha256: H}], /absolute/],
    [[{path: 'a/../../x', type: 'file', sha256: H}], /absolute, empty or has ".."/],
    [[{path: 'a', type: 'dir'}, {path: 'a', type: 'dir'}], /twice/],
    [[{path: 'f', type: 'file'}], /no SHA-256/],
    [[{path: 'd', type: 'device'}], /unknown type/],
  ]) assert.throws(() => checkManifest(m(entries)), (e) => re.test(e.message) && e.code === 'queue-tampered')
})

t('labels: a queue per set of required labels, served by workers that have them all', () => {
  assert.is(queueFor({}), 'runs')
  assert.is(queueFor({cgroup: 'v2', arch: 'amd64'}), 'runs@arch=amd64,cgroup=v2')
  assert.equal(labelsOfQueue('runs@arch=amd64,cgroup=v2'), {arch: 'amd64', cgroup: 'v2'})
  assert.ok(canServe({arch: 'amd64', cgroup: 'v2', os: 'linux'}, 'runs@arch=amd64,cgroup=v2'))
  assert.not.ok(canServe({arch: 'amd64', cgroup: 'v1'}, 'runs@arch=amd64,cgroup=v2'))
  assert.not.ok(canServe({arch: 'amd64'}, 'other-queue'))
  assert.throws(() => parseLabels(['Bad Label'], '--label'), /not KEY=VALUE/)
})

t('packing a tree: one blob per distinct content, links as links, hard links and the cap refused', () => {
  const d = mkdtempSync(join(tmpdir(), 'lab-qunit-'))
  try {
    mkdirSync(join(d, 'sub'))
    writeFileSync(join(d, 'a.txt'), 'same\n')
    writeFileSync(join(d, 'sub', 'b.txt'), 'same\n')
    symlinkSync('/etc/shadow', join(d, 'link'))
    const p = packTree(d, {what: 'test'})
    assert.equal(p.manifest.entries.map((e) => [e.path, e.type]), [['a.txt', 'file'], ['link', 'symlink'], ['sub', 'dir'], ['sub/b.txt', 'file']])
    assert.is(p.blobs.size, 2, 'the shared content is one blob, plus the manifest')
    assert.is(p.manifest.entries[1].target, '/etc/shadow', 'the link is not followed')
    assert.throws(() => packTree(d, {what: 'test', cap: 6}), (e) => e instanceof PayloadError && /payload cap/.test(e.message))
    linkSync(join(d, 'a.txt'), join(d, 'hard'))
    assert.throws(() => packTree(d, {what: 'test', refuseHardLinks: true}), /hard link/)
  } finally {
    rmSync(d, {recursive: true, force: true})
  }
})

t.run()
