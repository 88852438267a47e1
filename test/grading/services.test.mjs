// Grading services (src/grading/services.ts), proven from inside the sandboxes in a network
// namespace of the test's own (test/network/netns.mjs): a student's tiny web server in a
// service sandbox, a client test reaching it by name on a private --internal network; a
// server that never answers is the test's verdict; two submissions graded at once do not
// see each other's services; the network has no way out; and nothing is left behind.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, sleep} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'

const t = suite('grading: services on a private network')
const can = isRoot && haveNetTools()
let N
let dir

// an HTTP/1.0 request by nc; the page's last line
const GET = (host, port = 8080) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${host} ${port} 2>/dev/null | busybox tail -n 1`
// a student's server: busybox httpd serving the word in page.txt
const SERVER = 'mkdir -p /tmp/w && cp page.txt /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w\n'

const SPEC = `title: a tiny web server
required: [server.sh, page.txt]
services:
  - name: server
    run: sh server.sh
    ready: {port: 8080, timeout: 5s}
    limits: {memory: 64m, pids: 16}
tests:
  - name: serves its page
    points: 2
    run: ${JSON.stringify(GET('server'))}
    checks: [{stdout: {equals: hello}}]
  - name: its own server, no other
    points: 1
    run: ${JSON.stringify(`[ "$(${GET('server')})" = "$(cat page.txt)" ] && echo own`)}
    checks: [{stdout: {equals: own}}]
  - name: no way out
    points: 1
    run: busybox nc -w 2 192.0.2.2 7000 </dev/null; echo rc=$?
    checks: [{stdout: {equals: "rc=1"}}]
  - name: no services, no network
    points: 1
    services: []
    run: ${JSON.stringify(`${GET('server')}; busybox nc -w 1 server 8080 </dev/null; echo done`)}
    checks: [{stdout: {equals: done}}]
`

function submission(name, files) {
  const d = join(dir, name)
  mkdirSync(d)
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text)
  return d
}

async function grade(spec, subs, opts) {
  const file = join(dir, `${spec.length}-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, spec)
  const r = await N.lab(['grade', file, ...subs, '--jobs', '2', '--json'], opts)
  assert.is(r.code, 0, r.stderr)
  return JSON.parse(r.stdout)
}

const byName = (sub) => Object.fromEntries(sub.tests.map((x) => [x.name, x]))

t.before(async () => {
  if (!can) return
  N = new TestNetns('grade')
  N.outside()
  dir = mkdtempSync(join(tmpdir(), 'lab-grade-svc-'))
  // "the outside": a server in the second namespace that no grading network may reach
  await N.tcpServer('192.0.2.2', 7000, `${N.name}-o`)
})

t.after(async () => {
  if (N) await N.cleanup()
  if (dir) rmSync(dir, {recursive: true, force: true})
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

test('a student\'s server passes and fails a client test by name; two submissions at once see only their own', async () => {
  const good = submission('good', {'server.sh': SERVER, 'page.txt': 'hello\n'})
  const bad = submission('bad', {'server.sh': SERVER, 'page.txt': 'bye\n'})
  const report = await grade(SPEC, [good, bad])
  const [g, b] = report.submissions
  assert.is(g.status, 'graded')
  const gt = byName(g)
  assert.is(gt['serves its page'].status, 'passed', gt['serves its page'].message)
  assert.is(gt['its own server, no other'].status, 'passed', gt['its own server, no other'].message)
  assert.is(gt['no way out'].status, 'passed', `${gt['no way out'].stdout} ${gt['no way out'].stderr}`)
  assert.is(gt['no services, no network'].status, 'passed', gt['no services, no network'].stdout)
  assert.match(gt['no services, no network'].stderr, /bad address 'server'/, 'without services the name does not even resolve')
  const bt = byName(b)
  assert.is(bt['serves its page'].status, 'failed')
  assert.match(bt['serves its page'].message, /expected "hello", got "bye"/)
  assert.is(bt['its own server, no other'].status, 'passed', 'the bad submission reached its own server, not the good one\'s')
  assert.is(g.score, 5)
  assert.is(b.score, 3)
})

test('a framework run (pytest) has its services too: each test in the file scored against the student\'s server', async () => {
  writeFileSync(join(dir, 'test_server.py'), [
    'import urllib.request',
    'def test_page():',
    '    assert urllib.request.urlopen("http://server:8080/", timeout=3).read().decode().strip() == "hello"',
    'def test_status():',
    '    assert urllib.request.urlopen("http://server:8080/", timeout=3).status == 200',
    '',
  ].join('\n'))
  const spec = `title: pytest client
services:
  - {name: server, run: sh server.sh, ready: {port: 8080}}
tests:
  - name: client
    framework: pytest
    files: [test_server.py]
    scores: [{name: test_page, points: 2}, {name: test_status, points: 1}]
`
  const report = await grade(spec, [join(dir, 'good'), join(dir, 'bad')])
  const [g, b] = report.submissions
  assert.equal(g.tests.map((x) => [x.name, x.status]), [['test_page', 'passed'], ['test_status', 'passed']], JSON.stringify(g.tests.map((x) => x.message)))
  assert.equal(b.tests.map((x) => [x.name, x.status]), [['test_page', 'failed'], ['test_status', 'passed']])
  assert.match(b.tests[0].message, /bye/)
})

test('a service that never becomes ready, or ends, gives its test a clear verdict, not a batch error; a ready command is waited for', async () => {
  const spec = `title: not ready
services:
  - name: server
    run: exec sleep 60
    ready: {port: 8080, timeout: 1s}
  - name: crash
    run: echo "cannot bind" >&2; exit 3
    ready: {port: 8080, timeout: 5s}
  - name: late
    run: sleep 1.5 && mkdir -p /tmp/w && echo late > /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w
    ready: {command: "busybox nc -w 1 127.0.0.1 8080 </dev/null", timeout: 8s}
tests:
  - name: slow server
    points: 1
    services: [server]
    run: echo never
    checks: [{stdout: {equals: never}}]
  - name: crashing server
    points: 1
    services: [crash]
    run: sleep 1; echo never
    checks: [{stdout: {equals: never}}]
  - name: late server, waited for by its ready command
    points: 1
    services: [late]
    run: ${JSON.stringify(GET('late'))}
    checks: [{stdout: {equals: late}}]
`
  const sub = submission('lazy', {'x.txt': 'x\n'})
  const t0 = Date.now()
  const report = await grade(spec, [sub])
  const s = report.submissions[0]
  assert.is(s.status, 'graded', s.message)
  const x = byName(s)
  assert.is(x['slow server'].status, 'failed')
  assert.is(x['slow server'].verdict, 'service-not-ready')
  assert.match(x['slow server'].message, /service server was not ready within 1s: port 8080 did not accept a connection/)
  assert.is(x['crashing server'].verdict, 'service-not-ready')
  assert.match(x['crashing server'].message, /service crash ended before it was ready \(nonzero-exit, exit code 3\)/)
  assert.match(x['crashing server'].stderr, /cannot bind/, 'what the service printed is in the report')
  assert.is(x['late server, waited for by its ready command'].status, 'passed', x['late server, waited for by its ready command'].message)
  assert.ok(Date.now() - t0 < 30_000, 'the sleeping service was stopped, not waited for')
})

test('a bad service spec is a one-line error before anything runs', async () => {
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, 'title: x\nservices: [{name: server, run: "true"}]\ntests:\n  - {name: a, points: 1, run: "true", services: [db], checks: [{exitCode: 0}]}\n')
  const r = await N.lab(['grade', file, join(dir, 'good')])
  assert.is.not(r.code, 0)
  assert.match(r.stderr, /no service "db" \(the top-level services are: server\)/)
  writeFileSync(file, 'title: x\nservices: [{name: Server_1, run: "true"}]\ntests:\n  - {name: a, points: 1, run: "true", checks: [{exitCode: 0}]}\n')
  const r2 = await N.lab(['grade', file, join(dir, 'good')])
  assert.is.not(r2.code, 0)
  assert.match(r2.stderr, /services\/0\/name/)
})

test('Ctrl-C while a service runs: the grader stops, and tears the network down', async () => {
  const spec = `title: interrupted
services:
  - name: server
    run: exec sleep 60
tests:
  - {name: waits, points: 1, run: sleep 30, checks: [{exitCode: 0}], limits: {time: 40s}}
`
  const file = join(dir, 'int.yaml')
  writeFileSync(file, spec)
  const child = N.spawnLab(['grade', file, join(dir, 'good'), '--json'])
  let seen = false
  for (let i = 0; i < 100 && !seen; i++) {
    await sleep(100)
    seen = N.ns('ip', ['-o', 'link']).stdout.includes('lab-')
  }
  assert.ok(seen, 'the private network was made')
  await sleep(1000)
  child.kill('SIGINT')
  const code = await new Promise((r) => child.on('close', (c) => r(c)))
  assert.is.not(code, 0)
})

test('a SIGKILLed grader: its services end with it, and the next grading removes its network', async () => {
  const spec = `title: killed
services:
  - name: server
    run: exec sleep 60
tests:
  - {name: waits, points: 1, run: sleep 30, checks: [{exitCode: 0}], limits: {time: 40s}}
`
  const file = join(dir, 'kill.yaml')
  writeFileSync(file, spec)
  const child = N.spawnLab(['grade', file, join(dir, 'good'), '--json'])
  const closed = new Promise((r) => child.on('close', r))
  let running = false
  for (let i = 0; i < 150 && !running; i++) {
    await sleep(100)
    running = (await N.lab(['sandbox', 'ps', '-q'])).stdout.trim().split('\n').filter(Boolean).length >= 2
  }
  assert.ok(running, 'the service and the test were running')
  // nsenter execs the CLI: the child is the grader itself
  child.kill('SIGKILL')
  await closed
  let gone = false
  for (let i = 0; i < 100 && !gone; i++) {
    await sleep(100)
    gone = (await N.lab(['sandbox', 'ps', '-aq'])).stdout.trim() === ''
  }
  assert.ok(gone, 'the supervisors ended and removed the service and the test')
  const gradingNets = async () => JSON.parse((await N.lab(['network', 'ls', '--json'])).stdout).map((n) => n.name).filter((x) => x.startsWith('grading-'))
  const stale = await gradingNets()
  assert.is(stale.length, 1, 'the killed grader\'s network is still there')
  // the next grading with services sweeps it
  const report = await grade(SPEC, [join(dir, 'good')])
  assert.is(report.submissions[0].score, 5)
  assert.equal(await gradingNets(), [])
})

test('a service on its own image: the test on the host\'s root reaches it by name, and what it serves comes from the image', async () => {
  const {makeRunImages} = await import('../images/run-fixtures.mjs')
  const img = await makeRunImages()
  try {
    const spec = `title: imaged service
services:
  - name: server
    image: run:sh
    run: busybox mkdir -p /tmp/w && busybox cat /etc/motd > /tmp/w/index.html && exec busybox httpd -f -p 8080 -h /tmp/w
    ready: {port: 8080, timeout: 5s}
tests:
  - name: the page is the image's motd
    points: 1
    run: ${JSON.stringify(GET('server'))}
    checks: [{stdout: {equals: from the top layer}}]
`
    const report = await grade(spec, [join(dir, 'good')], {env: {...N.env, LAB_STATE_DIR: img.state}})
    const only = report.submissions[0].tests[0]
    assert.is(only.status, 'passed', JSON.stringify(only))
    assert.ok(/^sha256:/.test(report.engine.images['run:sh']))
    const left = await N.lab(['sandbox', 'ps', '-aq'], {env: {...N.env, LAB_STATE_DIR: img.state}})
    assert.is(left.stdout.trim(), '', 'the service sandbox is gone')
  } finally {
    rmSync(img.work, {recursive: true, force: true})
  }
})

test('nothing is left behind: no sandbox, network, interface, firewall table or name server', async () => {
  const ps = await N.lab(['sandbox', 'ps', '-aq'])
  assert.is(ps.stdout.trim(), '', 'no sandbox records')
  const left = N.leftovers({bridges: ['lab0'], tables: ['ip lab_lab0', 'bridge lab_lab0']})
  assert.equal(left, {links: [], addresses: [], tables: [], dns: [], leases: []})
  const nets = await N.lab(['network', 'ls', '--json'])
  assert.equal(JSON.parse(nets.stdout).map((n) => n.name), ['bridge'])
})

t.run()
