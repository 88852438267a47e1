// Attacks on bridged networks, each tried from inside a sandbox in a network namespace of
// the test's own (test/network/netns.mjs), and the defence that stops it.
import {spawn} from 'node:child_process'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from '../network/netns.mjs'

const t = suite('security: networks')
const can = isRoot && haveNetTools()
let N

t.before(async () => {
  if (!can) return
  N = new TestNetns('sec')
  const r = await N.lab(['network', 'create', '--subnet', '10.98.0.0/24', 'app'])
  assert.is(r.code, 0, r.stderr)
})

t.after(async () => {
  if (N) await N.cleanup()
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

/** UDP listeners in the namespace, on address:port each; resolves what each received, by port, after ms. */
function listen(binds, ms) {
  const code = `const dgram = require('dgram'); const got = {}
for (const [a, p] of ${JSON.stringify(binds)}) { const s = dgram.createSocket('udp4'); got[p] = []; s.on('message', (m) => got[p].push(m.toString())); s.bind(p, a) }
console.log('ready'); setTimeout(() => { console.log(JSON.stringify(got)); process.exit(0) }, ${ms})`
  const p = spawn('nsenter', [`--net=/run/netns/${N.name}`, process.execPath, '-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  return {ready: () => waitFor(() => out.includes('ready'), 5000), done: () => new Promise((r) => p.on('close', () => r(JSON.parse(out.trim().split('\n').pop()))))}
}

// An Ethernet frame written with AF_PACKET (NET_RAW): IPv4/UDP from the sandbox's own
// address to DST:PORT, sent to the gateway's MAC address, as a router would be sent it.
const FRAME = `import socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16; return ~s & 0xffff
own, gw = sys.argv[1], sys.argv[2]
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'arp', (gw, 9)); time.sleep(0.3)
gw_mac = [l.split()[3] for l in open('/proc/net/arp').read().splitlines()[1:] if l.split()[0] == gw][0]
my_mac = open('/sys/class/net/eth0/address').read().strip()
mac = lambda m: bytes(int(x, 16) for x in m.split(':'))
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); p.bind(('eth0', 0))
for dst, port in [(a.split(':')[0], int(a.split(':')[1])) for a in sys.argv[3:]]:
    payload = ('to ' + dst).encode()
    udp = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(own), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    p.send(mac(gw_mac) + mac(my_mac) + b'\\x08\\x00' + ip + udp)
print('sent')`

// The strongest attacker lab lets exist: NET_RAW and no seccomp filter (the default filter
// already refuses packet sockets, see below), so the firewall alone must stop it.
test('attack: reach the host\'s 127.0.0.1 through the bridge (route_localnet is on for published ports) → dropped at input', async () => {
  const l = listen([['127.0.0.1', 5544], ['10.98.0.1', 5545]], 6000)
  await l.ready()
  const r = await N.lab(['sandbox', 'run', '--network', 'app', '--ip', '10.98.0.9', '--cap-add', 'NET_RAW', '--security-opt', 'seccomp=unconfined', '--', 'python3', '-c', FRAME, '10.98.0.9', '10.98.0.1', '127.0.0.1:5544', '10.98.0.1:5545'])
  assert.is(r.stdout, 'sent\n', r.stderr)
  const got = await l.done()
  assert.equal(got['5545'], ['to 10.98.0.1'], 'the same frame to the gateway\'s own address arrives: the attack is well made')
  assert.equal(got['5544'], [], 'nothing reached the host\'s loopback')
})

test('attack: open a packet socket to forge frames → refused by the default filter, even with NET_RAW, and without NET_RAW', async () => {
  for (const caps of [[], ['--cap-add', 'NET_RAW']]) {
    const r = await N.lab(['sandbox', 'run', '--network', 'app', ...caps, '--', 'python3', '-c', 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)'])
    assert.is.not(r.code, 0)
    assert.match(r.stderr, /Address family not supported|PermissionError|Operation not permitted/)
  }
})

// IPv6: raw datagrams (IPPROTO_RAW: the header is the sandbox's to write) from a neighbour's
// address, another subnet's and the outside's, and its own; and ICMPv6 to all nodes: an echo
// request (the control) and a router advertisement, which would make it everyone's router.
const SPOOF6 = `import socket, struct, sys, time
own, gw = sys.argv[1], sys.argv[2]
def udp(src, dst, port, payload):
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    u = struct.pack('!HHHH', 40000, port, 8 + len(payload), 0) + payload
    pseudo = s + d + struct.pack('!I3xB', len(u), 17) + u
    pseudo += b'\\0' * (len(pseudo) % 2)
    c = sum(struct.unpack('!%dH' % (len(pseudo) // 2), pseudo)); c = (c >> 16) + (c & 0xffff); c += c >> 16; c = ~c & 0xffff or 0xffff
    u = u[:6] + struct.pack('!H', c) + u[8:]
    return struct.pack('!IHBB16s16s', 6 << 28, len(u), 17, 64, s, d) + u
raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
for src in sys.argv[3:] + [own]:
    raw.sendto(udp(src, gw, 5546, ('from ' + src).encode()), (gw, 0))
icmp = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
icmp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
idx = socket.if_nametoindex('eth0')
ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0) + struct.pack('!BBBBIII16s', 3, 4, 64, 0xc0, 86400, 14400, 0, socket.inet_pton(socket.AF_INET6, '2001:db8:bad::'))
for _ in range(3):
    icmp.sendto(struct.pack('!BBHHH', 128, 0, 0, 7, 1), ('ff02::1', 0, 0, idx))
    icmp.sendto(ra, ('ff02::1', 0, 0, idx))
    time.sleep(0.2)
print('sent')`

// On the namespace's side of the bridge: the UDP datagrams that arrive at the gateway, and
// the ICMPv6 types that arrive on the bridge from the sandbox's link-local address.
const LISTEN6 = `import socket, select, sys, time, json
gw, bridge = sys.argv[1], sys.argv[2]
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind((gw, 5546))
i = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
i.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, bridge.encode())
got = {'udp': [], 'icmp': []}
print('ready', flush=True)
end = time.time() + float(sys.argv[3])
while time.time() < end:
    r, _, _ = select.select([u, i], [], [], 0.2)
    for s in r:
        data, src = s.recvfrom(2048)
        if s is u: got['udp'].append(data.decode())
        elif src[0].startswith('fe80') and data[0] in (128, 134) and data[0] not in got['icmp']: got['icmp'].append(data[0])
print(json.dumps(got))`

test('attack (IPv6): send from a neighbour\'s or a foreign v6 address, or advertise a router, with NET_RAW → dropped at the bridge port', async () => {
  for (const args of [['--ipv6', '--subnet', 'fd00:98::/64', 'app6']]) {
    const r = await N.lab(['network', 'create', ...args])
    assert.is(r.code, 0, r.stderr)
  }
  const bridge = JSON.parse((await N.lab(['network', 'inspect', 'app6'])).stdout)[0].bridge
  const victim = await N.lab(['sandbox', 'run', '-d', '--name', 'victim6', '--network', 'app6', '--ip6', 'fd00:98::20', '--', 'busybox', 'sleep', '60'])
  assert.is(victim.code, 0, victim.stderr)
  const p = spawn('nsenter', [`--net=/run/netns/${N.name}`, 'python3', '-c', LISTEN6, 'fd00:98::1', bridge, '8'], {stdio: ['ignore', 'pipe', 'inherit']})
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  assert.ok(await waitFor(() => out.includes('ready'), 5000), 'the listener is up')
  const r = await N.lab(['sandbox', 'run', '--network', 'app6', '--ip6', 'fd00:98::30', '--cap-add', 'NET_RAW', '--', 'python3', '-c', SPOOF6, 'fd00:98::30', 'fd00:98::1', 'fd00:98::20', 'fd00:99::9', '2001:db8::9'])
  assert.is(r.stdout, 'sent\n', r.stderr)
  await new Promise((res) => p.on('close', res))
  const got = JSON.parse(out.trim().split('\n').pop())
  assert.equal(got.udp, ['from fd00:98::30'], 'only the datagram from its own address arrived: the attack is well made and the rest was dropped')
  assert.equal(got.icmp, [128], 'the echo request to all nodes arrived, the router advertisement did not')
  await N.lab(['sandbox', 'rm', '-f', 'victim6'])
  assert.is((await N.lab(['network', 'rm', 'app6'])).code, 0)
})

t.run()
