// Bridged networks, proven from inside sandboxes in a network namespace of the test's own
// (netns.mjs): names and aliases on one network, isolation between networks, ICC off,
// --internal without a way out, egress by NAT, published ports from the namespace's host
// side and its 127.0.0.1 (TCP and UDP), -P, --link, --ip, and NET_RAW without spoofing.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('bridge networks')
const can = isRoot && haveNetTools()
let N
// an HTTP server whose page is WORD
const serve = (word, port = 8080) => ['busybox', 'sh', '-c', `mkdir -p /tmp/w && echo ${word} >/tmp/w/index.html && exec busybox httpd -f -p ${port} -h /tmp/w`]
// busybox's wget is not usable everywhere: an HTTP/1.0 request by nc, the page's last line
const get = (host, port = 8080, t = 3) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w ${t} ${host} ${port} 2>/dev/null | busybox tail -n 1`
// from the namespace's own side (or the outside namespace): node's fetch
const FETCH = (url) => `fetch(${JSON.stringify(url)}, {signal: AbortSignal.timeout(3000)}).then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`
const hostGet = (url, where) => (where ? N.ns('nsenter', [`--net=/run/netns/${where}`, process.execPath, '-e', FETCH(url)]) : N.ns(process.execPath, ['-e', FETCH(url)]))
const run = (flags, script, opts) => N.lab(['sandbox', 'run', ...flags, '--', 'busybox', 'sh', '-c', script], opts)
const addressOf = async (net, name) => JSON.parse((await N.lab(['network', 'inspect', net])).stdout)[0].sandboxes.find((s) => s.name === name).address

t.before(async () => {
  if (!can) return
  try {
    await setUp()
  } catch (e) {
    console.error(e)
    throw e
  }
})

async function setUp() {
  N = new TestNetns('bridge')
  N.outside()
  for (const args of [['--subnet', '10.91.0.0/24', 'app'], ['--subnet', '10.92.0.0/24', 'other'], ['-o', 'com.docker.network.bridge.enable_icc=false', 'quiet'], ['--internal', 'closed']]) {
    const r = await N.lab(['network', 'create', ...args])
    assert.is(r.code, 0, r.stderr)
  }
  for (const [name, net, extra] of [['web', 'app', ['--network-alias', 'www']], ['q1', 'quiet', []], ['lnk', 'bridge', []]]) {
    const r = await N.lab(['sandbox', 'run', '-d', '--name', name, '--network', net, ...extra, '--', ...serve(name)])
    assert.is(r.code, 0, r.stderr)
    await listening(await addressOf(net, name), 8080)
  }
}

// the namespace reaches its bridges' sandboxes directly: wait until a server answers
async function listening(address, port) {
  const ok = await waitFor(() => hostGet(`http://${address}:${port}/`).code === 0, 15_000, 100)
  if (!ok) console.error((await N.lab(['sandbox', 'ps', '-a'])).stdout, N.ns('ip', ['-4', '-o', 'addr']).stdout, N.ns('ip', ['route']).stdout, hostGet(`http://${address}:${port}/`))
  assert.ok(ok, `a server on ${address}:${port}`)
}

t.after(async () => {
  if (N) await N.cleanup()
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

test('two sandboxes on one network talk by name and by alias', async () => {
  const r = await run(['--network', 'app'], `${get('web')}; ${get('www')}`)
  assert.is(r.stdout, 'web\nweb\n', r.stderr)
})

test('networks are isolated: no name, and no route through the host, to a sandbox of another', async () => {
  const web = await addressOf('app', 'web')
  const r = await run(['--network', 'other'], `busybox nslookup web >/dev/null 2>&1 && echo resolved; ${get(web, 8080, 2)}; echo done`)
  assert.is(r.stdout, 'done\n', r.stderr)
})

test('ICC off: the neighbour\'s name resolves, but nothing reaches it', async () => {
  const r = await run(['--network', 'quiet'], `busybox nslookup q1 | busybox grep -c "^Address: 10\\." ; ${get('q1', 8080, 2)}; echo done`)
  assert.is(r.stdout, '1\ndone\n', r.stderr)
})

test('egress by NAT from a network; --internal has no way out', async () => {
  await N.tcpServer('192.0.2.2', 7000, `${N.name}-o`)
  const out = await run(['--network', 'app'], 'busybox nc -w 3 192.0.2.2 7000 </dev/null')
  // the outside sees the namespace's own address: the sandbox's is masqueraded
  assert.is(out.stdout.trim(), '192.0.2.1', out.stderr)
  const closed = await run(['--network', 'closed'], 'busybox ip route | busybox grep -c default; busybox nc -w 2 192.0.2.2 7000 </dev/null && echo reached; echo done')
  assert.is(closed.stdout, '0\ndone\n', closed.stderr)
})

test('a published port answers from the host side, from its 127.0.0.1, and over UDP', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'pub', '--network', 'app', '-p', '18080:8080', '-p', '127.0.0.1::8080', '-p', '18081:9000/udp', '--',
    'busybox', 'sh', '-c', 'mkdir -p /tmp/w && echo pub >/tmp/w/index.html && busybox httpd -p 8080 -h /tmp/w && exec python3 -c "import socket; s = socket.socket(2, 2); s.bind((\'\', 9000)); print(s.recvfrom(64)[0].decode(), flush=True)"'])
  assert.is(r.code, 0, r.stderr)
  await listening(await addressOf('app', 'pub'), 8080)
  const port = await N.lab(['sandbox', 'port', 'pub'])
  const lines = port.stdout.trim().split('\n')
  assert.is(lines[0], '8080/tcp -> 0.0.0.0:18080')
  assert.match(lines[1], /^8080\/tcp -> 127\.0\.0\.1:\d+$/)
  assert.is(lines[2], '9000/udp -> 0.0.0.0:18081')
  const loopPort = lines[1].split(':').pop()
  // from the namespace itself, on its loopback and on an address of its own
  assert.is(hostGet('http://127.0.0.1:18080/').stdout, 'pub\n')
  assert.is(hostGet('http://192.0.2.1:18080/').stdout, 'pub\n')
  assert.is(hostGet(`http://127.0.0.1:${loopPort}/`).stdout, 'pub\n')
  // from the outside namespace through the host (prerouting); the 127.0.0.1-only one is not there
  assert.is(hostGet('http://192.0.2.1:18080/', N.extra[0]).stdout, 'pub\n')
  assert.is(hostGet(`http://192.0.2.1:${loopPort}/`, N.extra[0]).code, 1)
  const logs = await waitFor(async () => {
    N.ns(process.execPath, ['-e', `const s = require('dgram').createSocket('udp4'); s.send('datagram', 18081, '127.0.0.1', () => s.close())`])
    return (await N.lab(['sandbox', 'logs', 'pub'])).stdout.includes('datagram')
  }, 5000, 300)
  assert.ok(logs, 'the UDP datagram reached the sandbox')
})

test('-P publishes the --expose\'d ports on free host ports', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'exp', '--network', 'app', '-P', '--expose', '8080', '--', ...serve('exposed')])
  assert.is(r.code, 0, r.stderr)
  await listening(await addressOf('app', 'exp'), 8080)
  const port = (await N.lab(['sandbox', 'port', 'exp', '8080'])).stdout.trim()
  assert.match(port, /^0\.0\.0\.0:\d+$/)
  assert.is(hostGet(`http://127.0.0.1:${port.split(':')[1]}/`).stdout, 'exposed\n')
  // inspect names the MAC the sandbox has
  const entry = JSON.parse((await N.lab(['network', 'inspect', 'app'])).stdout)[0].sandboxes.find((s) => s.name === 'exp')
  const mac = await N.lab(['sandbox', 'exec', 'exp', '--', 'busybox', 'cat', '/sys/class/net/eth0/address'])
  assert.is(mac.stdout.trim(), entry.mac, mac.stderr)
})

test('--link NAME:ALIAS on the default bridge: /etc/hosts names the linked sandbox', async () => {
  const r = await run(['--network', 'bridge', '--link', 'lnk:db'], `${get('db')}; ${get('lnk')}`)
  assert.is(r.stdout, 'lnk\nlnk\n', r.stderr)
})

test('--ip gives the address asked for, and the MAC that follows from it; --dns and --dns-search make resolv.conf', async () => {
  // the MAC is 02:42 and the address (Docker's rule): an address used again never meets a stale neighbour entry
  const r = await run(['--network', 'app', '--ip', '10.91.0.77', '--dns', '10.91.0.1', '--dns-search', 'example.test'], 'busybox ip -4 -o addr show eth0 | busybox awk \'{print $4}\'; busybox cat /sys/class/net/eth0/address; busybox cat /etc/resolv.conf')
  assert.is(r.stdout, '10.91.0.77/24\n02:42:0a:5b:00:4d\nnameserver 10.91.0.1\nsearch example.test\n', r.stderr)
})

test('NET_RAW on a bridge pings a neighbour, but a spoofed source is dropped at the bridge port', async () => {
  const ping = await run(['--network', 'app', '--cap-add', 'NET_RAW'], 'busybox ping -c 1 -W 3 web >/dev/null && echo pinged')
  assert.is(ping.stdout, 'pinged\n', ping.stderr)
  // a UDP listener on the namespace's side counts what arrives from each source
  const udp = `const s = require('dgram').createSocket('udp4'); const seen = []; s.on('message', (m, r) => seen.push(r.address)); s.bind(5533, '10.91.0.1', () => console.log('ready')); setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(0) }, 4000)`
  const {spawn} = await import('node:child_process')
  const p = spawn('nsenter', [`--net=/run/netns/${N.name}`, process.execPath, '-e', udp], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  await waitFor(() => out.includes('ready'), 5000)
  // raw IPv4+UDP with a chosen source, sent with IP_HDRINCL (python3 of the host's root)
  const py = `import socket, struct, sys
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return ~s & 0xffff
def send(src):
    payload = b'x'
    udp = struct.pack('!HHHH', 40000, 5533, 8 + len(payload), 0) + payload
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton('10.91.0.1'))
    hdr = hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(hdr + udp, ('10.91.0.1', 0))
own = sys.argv[1]
send('10.92.0.9'); send('192.0.2.2'); send(own)
print('sent')`
  const r = await N.lab(['sandbox', 'run', '--network', 'app', '--ip', '10.91.0.88', '--cap-add', 'NET_RAW', '--', 'python3', '-c', py, '10.91.0.88'])
  assert.is(r.stdout, 'sent\n', r.stderr)
  await new Promise((res) => p.on('close', res))
  const seen = JSON.parse(out.split('\n').filter(Boolean).pop())
  assert.equal(seen, ['10.91.0.88'], 'only the datagram with the sandbox\'s own address arrived')
})

test('network connect plugs a running sandbox into another network, disconnect takes it out', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'multi', '--network', 'other', '--', ...serve('multi')])
  assert.is(r.code, 0, r.stderr)
  const c = await N.lab(['network', 'connect', '--alias', 'mm', 'app', 'multi'])
  assert.match(c.stdout, /^multi eth1 10\.91\.0\.\d+\n$/, c.stderr)
  const onApp = await run(['--network', 'app'], `${get('multi')}; ${get('mm')}`)
  assert.is(onApp.stdout, 'multi\nmulti\n', onApp.stderr)
  // from inside, it now finds the sandboxes of both its networks by name
  const inside = await N.lab(['sandbox', 'exec', 'multi', 'busybox', 'sh', '-c', get('web')])
  assert.is(inside.stdout, 'web\n', inside.stderr)
  const d = await N.lab(['network', 'disconnect', 'app', 'multi'])
  assert.is(d.code, 0, d.stderr)
  const gone = await run(['--network', 'app'], `${get('multi', 8080, 2)}; echo done`)
  assert.is(gone.stdout, 'done\n', gone.stderr)
  const links = (await N.lab(['sandbox', 'exec', 'multi', 'busybox', 'ip', '-o', 'link'])).stdout
  assert.not.match(links, /eth1/)
})

t.run()
