// Rootless networking with pasta, proven as an ordinary user inside a network namespace
// of the test's own (netns.mjs): 192.0.2.1 there with its default route to "the outside"
// namespace (192.0.2.2), so pasta copies that address and route into the sandbox and
// its egress stays between the two. From inside: an interface with the address, a TCP
// server outside reached, the host's loopback services NOT reached (unless
// pasta:--map-gw), a published port answering on the host's 127.0.0.1 and from the
// outside ("another host"), TCP and UDP; no pasta process left after a normal exit, a SIGKILLed CLI, a
// SIGKILLed supervisor, or -d and rm -f. The option parsing is tested without root.
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isPastaNetwork, parsePastaNetwork, pastaOps} from '../../dist/sandbox/pasta.js'
import {buildPlan} from '../../dist/sandbox/plan.js'
import {isRoot, LAB, ROOT, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('network: rootless pasta')
const USER = 'lab-rootless'
const TUN = '/dev/net/tun'

// ------------------------------------------------------------ option parsing (no root)

t('--network pasta takes --map-gw as its one option; anything else is one line naming it', () => {
  assert.equal(parsePastaNetwork('pasta'), {mapGateway: false})
  assert.equal(parsePastaNetwork('pasta:--map-gw'), {mapGateway: true})
  for (const bad of ['pasta:--no-map-gw', 'pasta:-T,auto', 'pasta:--map-gw,--tcp-ns=auto', 'pasta:']) {
    assert.throws(() => parsePastaNetwork(bad), (e) => e.code !== undefined && /pasta/.test(e.message) && !e.message.includes('\n'), bad)
  }
  assert.ok(isPastaNetwork('pasta', true) && isPastaNetwork('pasta:--map-gw', false))
  assert.ok(isPastaNetwork('bridge', false), 'bridge without root is pasta')
  assert.not.ok(isPastaNetwork('bridge', true), 'bridge as root is a real bridge')
  assert.not.ok(isPastaNetwork('none', false) || isPastaNetwork('host', false) || isPastaNetwork('app', false) || isPastaNetwork(undefined, false))
})

t('plan lines: pasta with no-map-gw by default, one pastaport per published port', () => {
  const ops = pastaOps({mapGateway: false, ports: [{hostIp: '127.0.0.1', hostPort: 18080, port: 80, proto: 'tcp'}, {hostIp: '0.0.0.0', hostPort: 5353, port: 53, proto: 'udp'}], dns: {servers: [], search: [], options: []}}, '/usr/bin/pasta')
  assert.equal(ops, [['pasta', '/usr/bin/pasta', 'no-map-gw'], ['pastaport', 'tcp', '127.0.0.1', 18080, 80], ['pastaport', 'udp', '0.0.0.0', 5353, 53]])
  assert.equal(pastaOps({mapGateway: true, ports: [], dns: {servers: [], search: [], options: []}}, '/usr/bin/pasta'), [['pasta', '/usr/bin/pasta', 'map-gw']])
})

// ------------------------------------------------------------ as an ordinary user

function setUp() {
  if (!isRoot) return 'needs root to create the unprivileged test user and a network namespace'
  if (!haveNetTools()) return 'needs ip, nft, nsenter and busybox'
  if (spawnSync('pasta', ['--version']).error) return 'pasta is not installed (apt-get install passt)'
  if (spawnSync('id', [USER]).status !== 0) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', USER])
    if (r.status !== 0) return `cannot create the user ${USER}: ${r.stderr}`
  }
  if (spawnSync('runuser', ['-u', USER, '--', 'test', '-r', `${ROOT}/dist/cli/sandbox-run.js`]).status !== 0) return `the checkout ${ROOT} is not readable by an unprivileged user`
  return null
}

const skip = setUp()
const test = (name, fn) => (skip ? t.skip(`${name} [skipped: ${skip}]`, fn) : t(name, fn))

let N
let uid
let home
let tunMode
const OUT = '192.0.2.2'

// pasta needs the tun device openable by the user (Debian's default is 0666; some hosts
// have 0600): opened up for the suite, its mode restored after.
t.before(() => {
  if (skip) return
  tunMode = statSync(TUN).mode & 0o7777
  if ((tunMode & 0o006) !== 0o006) chmodSync(TUN, tunMode | 0o006)
  uid = Number(execFileSync('id', ['-u', USER], {encoding: 'utf8'}))
  N = new TestNetns('pasta')
  N.outside()
  execFileSync('ip', ['-n', N.name, 'route', 'add', 'default', 'via', OUT])
  // the user's own state (short: a control socket's path has at most 107 bytes)
  home = mkdtempSync('/tmp/lp.')
  chownSync(home, uid, uid)
  N.env = {...N.env, LAB_STATE_DIR: `${home}/state`}
})

t.after(async () => {
  if (skip) return
  try {
    const ids = (await lab(['sandbox', 'ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
    if (ids.length) await lab(['sandbox', 'rm', '-f', ...ids])
    for (const pid of pastaPids()) spawnSync('kill', ['-KILL', String(pid)])
    for (const p of N.servers) p.kill('SIGKILL')
    for (const n of [...N.extra, N.name]) spawnSync('ip', ['netns', 'del', n])
    rmSync(N.state, {recursive: true, force: true})
    rmSync(home, {recursive: true, force: true})
  } finally {
    if (tunMode !== undefined) chmodSync(TUN, tunMode)
  }
})

/** `lab ARGS` as the user, in the test's namespace */
function argv(args) {
  return ['nsenter', [`--net=/run/netns/${N.name}`, 'runuser', '-u', USER, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${home}/run`, `LAB_STATE_DIR=${home}/state`, process.execPath, '--', LAB, ...args]]
}

function lab(args, {timeout = 60_000} = {}) {
  return new Promise((resolve) => {
    const [c, a] = argv(args)
    const child = spawn(c, a, {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code: code ?? 128, stdout, stderr})
    })
  })
}

/** A program that connects to HOST:PORT and prints what it got, or the error's code. */
const client = (host, port) => `const s=require('net').connect(${port},${JSON.stringify(host)});let d='';s.on('data',(x)=>(d+=x));s.on('end',()=>{process.stdout.write(d);process.exit(0)});s.on('error',(e)=>{console.log('error '+e.code);process.exit(0)});setTimeout(()=>{console.log('error timeout');process.exit(0)},4000)`

/** Live pasta processes of the test user (Debian's pasta runs as passt.avx2; zombies are
 * gone already). */
function pastaPids() {
  const out = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      if (!/^Name:\s+pas(ta|st)/m.test(status) || /^State:\s+Z/m.test(status)) continue
      if (Number(/^Uid:\s+(\d+)/m.exec(status)[1]) === uid) out.push(Number(pid))
    } catch {}
  }
  return out
}

async function noPasta(what) {
  await waitFor(() => pastaPids().length === 0, 10_000)
  assert.equal(pastaPids(), [], `no pasta left ${what}`)
}

test('an ordinary user gets an interface with the host\'s address and route, and reaches a server outside', async () => {
  await N.tcpServer('0.0.0.0', 7000, N.extra[0])
  const r = await lab(['sandbox', 'run', '--network', 'pasta', '--', 'sh', '-c', 'cat /proc/net/route; ls /sys/class/net; exec node -e "$0"', client(OUT, 7000)])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^eth0\t00000000\t020200C0\t/m, 'a default route via 192.0.2.2 on eth0')
  assert.match(r.stdout, /^eth0\nlo\n/m)
  assert.match(r.stdout, /192\.0\.2\.1\n$/, 'the outside server saw the host\'s address: traffic left by pasta\'s sockets')
  await noPasta('after a normal exit')
})

test('bridge without root is pasta too; the sandbox is still unprivileged and its own', async () => {
  const r = await lab(['sandbox', 'run', '--network', 'bridge', '--', 'sh', '-c', 'cat /sys/class/net/eth0/address >/dev/null && echo has-eth0; grep CapEff /proc/self/status'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /^has-eth0\nCapEff:\s+0{16}\n$/)
})

test('the host\'s loopback services are not reachable by default: not on 127.0.0.1, not through the gateway; pasta:--map-gw opts in', async () => {
  // a service on the namespace's own loopback (the "host" of this test)
  const code = `require('net').createServer((s) => s.end('loopback service\\n')).listen(7001, '127.0.0.1', () => console.log('ready'))`
  const p = spawn('nsenter', [`--net=/run/netns/${N.name}`, process.execPath, '-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  N.servers.push(p)
  await new Promise((resolve) => p.stdout.once('data', resolve))
  const probe = (network) => lab(['sandbox', 'run', '--network', network, '--', 'node', '-e', `${client('127.0.0.1', 7001)}`]).then(async (a) => ({lo: a, gw: await lab(['sandbox', 'run', '--network', network, '--', 'node', '-e', client(OUT, 7001)])}))
  const closed = await probe('pasta')
  assert.is(closed.lo.code, 0, closed.lo.stderr)
  assert.match(closed.lo.stdout, /^error (ECONNREFUSED|timeout)/, 'the sandbox\'s 127.0.0.1 is its own')
  assert.match(closed.gw.stdout, /^error (ECONNREFUSED|timeout)/, 'the gateway is the real 192.0.2.2, not the host')
  const open = await probe('pasta:--map-gw')
  assert.is(open.gw.code, 0, open.gw.stderr)
  assert.is(open.gw.stdout, 'loopback service\n', 'with --map-gw the gateway is the host')
  assert.match(open.lo.stdout, /^error /, 'the sandbox\'s own loopback stays its own')
  await noPasta('after the probes')
})

/** A program that sends `bytes` patterned bytes to HOST:PORT, half-closes, and prints how
 * many came back and whether they were the same, or the error's code. */
const echoClient = (host, port, bytes) => `const b=Buffer.alloc(${bytes},0);for(let i=0;i<b.length;i++)b[i]=(i*7)&255;const s=require('net').connect(${port},${JSON.stringify(host)},()=>s.end(b));const got=[];s.on('data',(x)=>got.push(x));s.on('end',()=>{const g=Buffer.concat(got);console.log('echo '+g.length+' '+(g.equals(b)?'same':'different'));process.exit(0)});s.on('error',(e)=>{console.log('error '+e.code);process.exit(0)});setTimeout(()=>{console.log('error timeout');process.exit(0)},15000)`

test('a published port answers on the host\'s 127.0.0.1 and from another host, TCP and UDP; lab sandbox port lists them; rm -f leaves no pasta and no listener', async () => {
  const server = `require('net').createServer((s) => s.end('from the sandbox\\n')).listen(8080); require('net').createServer((s) => s.pipe(s)).listen(8082); const u = require('dgram').createSocket('udp4'); u.on('message', (m, r) => u.send('pong ' + m, r.port, r.address)); u.bind(8081, () => console.log('up'))`
  const d = await lab(['sandbox', 'run', '-d', '--name', 'web', '--network', 'pasta', '-p', '18080:8080', '-p', '18081:8081/udp', '-p', '18082:8082', '-p', '18083:8083', '--', 'node', '-e', server])
  assert.is(d.code, 0, d.stderr)
  assert.ok(await waitFor(async () => (await lab(['sandbox', 'logs', 'web'])).stdout.includes('up'), 20_000), 'the server started')
  assert.ok(pastaPids().length === 1, 'one pasta serves the running sandbox')
  const tcp = N.ns(process.execPath, ['-e', client('127.0.0.1', 18080)])
  assert.is(tcp.stdout, 'from the sandbox\n')
  // "another host": the outside namespace, through the host's 192.0.2.1
  const other = (code) => N.ns('nsenter', [`--net=/run/netns/${N.extra[0]}`, process.execPath, '-e', code])
  assert.is(other(client('192.0.2.1', 18080)).stdout, 'from the sandbox\n', 'TCP from another host')
  // 4 MiB each way with a half-close in between: the relay moves it all and passes the end on
  assert.is(other(echoClient('192.0.2.1', 18082, 4 << 20)).stdout, `echo ${4 << 20} same\n`)
  assert.is(N.ns(process.execPath, ['-e', echoClient('127.0.0.1', 18082, 1 << 20)]).stdout, `echo ${1 << 20} same\n`)
  // published, but nothing listens inside: the client is reset, as with pasta's own ports
  assert.match(other(client('192.0.2.1', 18083)).stdout, /^error (ECONNRESET|EPIPE)\n$/)
  const udp = other(`const u=require('dgram').createSocket('udp4');u.on('message',(m)=>{console.log(String(m));process.exit(0)});u.send('ping',18081,'192.0.2.1');setTimeout(()=>{console.log('timeout');process.exit(0)},4000)`)
  assert.is(udp.stdout, 'pong ping\n', 'UDP from another host')
  const port = await lab(['sandbox', 'port', 'web'])
  assert.match(port.stdout, /8080\/tcp -> 0\.0\.0\.0:18080/)
  const rm = await lab(['sandbox', 'rm', '-f', 'web'])
  assert.is(rm.code, 0, rm.stderr)
  await noPasta('after rm -f')
  assert.match(other(client('192.0.2.1', 18080)).stdout, /^error ECONNREFUSED\n$/, 'the host port is closed with the sandbox')
})

test('no pasta outlives a SIGKILLed CLI, nor a SIGKILLed supervisor', async () => {
  const [c, a] = argv(['sandbox', 'run', '--network', 'pasta', '--', 'sleep', '60'])
  const cli = spawn(c, a, {stdio: 'ignore'})
  assert.ok(await waitFor(() => pastaPids().length === 1, 20_000), 'pasta runs while the sandbox does')
  // the CLI itself (node), not nsenter/runuser around it
  const node = Number(execFileSync('pgrep', ['-u', String(uid), '-f', '-n', `${LAB} sandbox run --network pasta`], {encoding: 'utf8'}).trim())
  process.kill(node, 'SIGKILL')
  await new Promise((resolve) => cli.once('close', resolve))
  await noPasta('after the CLI was SIGKILLed')

  const d = await lab(['sandbox', 'run', '-d', '--name', 'sup', '--network', 'pasta', '--', 'sleep', '60'])
  assert.is(d.code, 0, d.stderr)
  assert.is(pastaPids().length, 1)
  const pid = JSON.parse((await lab(['sandbox', 'inspect', 'sup'])).stdout)[0].State.SupervisorPid
  assert.ok(pid > 0)
  process.kill(pid, 'SIGKILL')
  await noPasta('after the supervisor was SIGKILLed')
  await lab(['sandbox', 'rm', '-f', 'sup'])
})

test('a restarting sandbox has one pasta per run, never two, and none once it stopped restarting', async () => {
  // each run fails after a moment; on-failure:3 makes four runs, each with its own namespace
  const d = await lab(['sandbox', 'run', '-d', '--name', 'flaky', '--restart', 'on-failure:3', '--network', 'pasta', '-p', '18090:80', '--', 'sh', '-c', 'sleep 0.3; exit 3'])
  assert.is(d.code, 0, d.stderr)
  let most = 0
  const done = await waitFor(async () => {
    most = Math.max(most, pastaPids().length)
    const st = JSON.parse((await lab(['sandbox', 'inspect', 'flaky'])).stdout)[0]
    return st.State.Status === 'exited' && st.RestartCount === 3
  }, 60_000, 20)
  assert.ok(done, 'the sandbox ran four times and stopped')
  assert.ok(most <= 1, `at most one pasta at a time (saw ${most})`)
  await noPasta('after the last restart')
  await lab(['sandbox', 'rm', '-f', 'flaky'])
})

test('one-line errors: a low host port, an option pasta is not given, a user-defined network, pasta as root', async () => {
  const low = await lab(['sandbox', 'run', '--network', 'pasta', '-p', '80:80', '--', 'true'])
  assert.is(low.code, 125)
  assert.match(low.stderr, /^lab: host port 80 is below \d+, which only root may bind \(.*ip_unprivileged_port_start\)\n$/)
  const opt = await lab(['sandbox', 'run', '--network', 'pasta:-T,auto', '--', 'true'])
  assert.is(opt.code, 125)
  assert.match(opt.stderr, /^lab: --network pasta: option "-T" is not allowed .*--map-gw.*\n$/)
  const create = await lab(['network', 'create', 'app'])
  assert.is(create.code, 125)
  assert.match(create.stderr, /^lab: user-defined networks need root \(.*--network pasta.*\)\n$/)
  const root = await N.lab(['sandbox', 'run', '--network', 'pasta', '--', 'true'])
  assert.is(root.code, 125)
  assert.match(root.stderr, /^lab: --network pasta is for rootless sandboxes \(as root, use --network bridge.*\)\n$/)
  const doctor = await lab(['doctor', '--json'])
  assert.ok(JSON.parse(doctor.stdout).checks.some((c) => c.name === 'pasta' && c.status === 'ok'), doctor.stdout)
})

t.run()
