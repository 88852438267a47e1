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

t.run()
