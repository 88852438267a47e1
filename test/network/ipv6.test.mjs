// IPv6 on bridged networks (--ipv6), proven from inside sandboxes in a network namespace
// of the test's own (netns.mjs): a v6 address usable at once and the v6 default route,
// TCP by v6 address and by name (AAAA), isolation between networks, ICC off, --internal
// without a way out, NAT66 to an "outside" namespace, a published port answering on the
// host's v6 addresses, Docker's inspect fields, and no ip6 table left behind.
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {isRoot, waitFor} from '../helpers.mjs'
import {haveNetTools, TestNetns} from './netns.mjs'

const t = suite('bridge networks: IPv6')
const can = isRoot && haveNetTools()
let N
// the outside namespace has 2001:db8::2 (the documentation prefix), the namespace's host 2001:db8::1
const OUT6 = '2001:db8::2'
const HOST6 = '2001:db8::1'
const serve = (word, port = 8080) => ['busybox', 'sh', '-c', `mkdir -p /tmp/w && echo ${word} >/tmp/w/index.html && exec busybox httpd -f -p ${port} -h /tmp/w`]
// an HTTP/1.0 request by nc, the page's last line (busybox's nc takes a v6 address as it is)
const get = (host, port = 8080, t = 3) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w ${t} ${host} ${port} 2>/dev/null | busybox tail -n 1`
const FETCH = (url) => `fetch(${JSON.stringify(url)}, {signal: AbortSignal.timeout(3000)}).then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`
const hostGet = (url, where) => (where ? N.ns('nsenter', [`--net=/run/netns/${where}`, process.execPath, '-e', FETCH(url)]) : N.ns(process.execPath, ['-e', FETCH(url)]))
const run = (flags, script, opts) => N.lab(['sandbox', 'run', ...flags, '--', 'busybox', 'sh', '-c', script], opts)
const inspectNet = async (net) => JSON.parse((await N.lab(['network', 'inspect', net])).stdout)[0]
const entryOf = async (net, name) => (await inspectNet(net)).sandboxes.find((s) => s.name === name)

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
  N = new TestNetns('ipv6')
  const out = N.outside()
  N.ns('ip', ['addr', 'add', `${HOST6}/64`, 'dev', 'up0', 'nodad'])
  N.ns('nsenter', [`--net=/run/netns/${out}`, 'ip', 'addr', 'add', `${OUT6}/64`, 'dev', 'eth0', 'nodad'])
  for (const args of [
    ['--ipv6', '--subnet', 'fd00:91::/64', '--subnet', '10.94.0.0/24', 'six'],
    ['--ipv6', 'six2'],
    ['--ipv6', '-o', 'com.docker.network.bridge.enable_icc=false', 'quiet6'],
    ['--ipv6', '--internal', 'closed6'],
  ]) {
    const r = await N.lab(['network', 'create', ...args])
    assert.is(r.code, 0, r.stderr)
  }
  for (const [name, net, extra] of [['web', 'six', ['--network-alias', 'www', '--ip6', 'fd00:91::80']], ['q1', 'quiet6', []], ['in1', 'closed6', []]]) {
    const r = await N.lab(['sandbox', 'run', '-d', '--name', name, '--network', net, ...extra, '--', ...serve(name)])
    assert.is(r.code, 0, r.stderr)
    await listening((await entryOf(net, name)).address6, 8080)
  }
}

// the namespace reaches its bridges' sandboxes directly, over v6 too
async function listening(address6, port) {
  const ok = await waitFor(() => hostGet(`http://[${address6}]:${port}/`).code === 0, 15_000, 100)
  if (!ok) console.error((await N.lab(['sandbox', 'ps', '-a'])).stdout, N.ns('ip', ['-6', '-o', 'addr']).stdout, N.ns('ip', ['-6', 'route']).stdout)
  assert.ok(ok, `a server on [${address6}]:${port}`)
}

t.after(async () => {
  if (N) await N.cleanup()
})

const test = (name, fn) => (can ? t(name, fn) : t.skip(`${name} [skipped: needs root, ip, nft, nsenter and busybox]`, fn))

test('network create --ipv6: a free /64 of fd4c:6162::/48, or the subnet given; inspect shows EnableIPv6 and both IPAM configs', async () => {
  const six2 = await inspectNet('six2')
  assert.is(six2.EnableIPv6, true)
  assert.match(six2.subnet6, /^fd4c:6162:0:[0-9a-f]{1,4}::\/64$/)
  assert.equal(six2.IPAM.Config, [{Subnet: six2.subnet, Gateway: six2.gateway}, {Subnet: six2.subnet6, Gateway: six2.gateway6}])
  const six = await inspectNet('six')
  assert.equal(six.IPAM.Config, [{Subnet: '10.94.0.0/24', Gateway: '10.94.0.1'}, {Subnet: 'fd00:91::/64', Gateway: 'fd00:91::1'}])
  // the default bridge stays IPv4-only, as Docker's docker0
  const br = await inspectNet('bridge')
  assert.is(br.EnableIPv6, false)
  assert.is(br.IPAM.Config.length, 1)
  // the bridge has its v6 gateway, usable at once
  assert.match(N.ns('ip', ['-6', '-o', 'addr', 'show', 'dev', six.bridge]).stdout, /inet6 fd00:91::1\/64 scope global nodad/)
  // a bridge that lost its v6 address gets it back with the next command that reconciles
  N.ns('ip', ['addr', 'del', 'fd00:91::1/64', 'dev', six.bridge])
  assert.is((await N.lab(['network', 'ls', '-q'])).code, 0)
  assert.match(N.ns('ip', ['-6', '-o', 'addr', 'show', 'dev', six.bridge]).stdout, /inet6 fd00:91::1\/64 scope global nodad/)
})

test('overlapping or malformed v6 subnets, and v6 flags without IPv6, are refused with one line', async () => {
  const cases = [
    [['network', 'create', '--ipv6', '--subnet', 'fd00:91::/48', 'x1'], /^lab: subnet fd00:91::\/48 overlaps network six \(/],
    [['network', 'create', '--ipv6', '--subnet', 'fd00:92::1/64', 'x2'], /^lab: --subnet "fd00:92::1\/64" has host bits set \(use fd00:92::\/64\)/],
    [['network', 'create', '--subnet', 'fd00:93::/64', 'x3'], /^lab: an IPv6 --subnet needs --ipv6/],
    [['network', 'create', '--ipv6', '--subnet', 'fd00:94::/64', '--gateway', 'fd00:95::1', 'x4'], /^lab: --gateway fd00:95::1 is not an address in fd00:94::\/64/],
    [['network', 'create', '--ipv6', '--subnet', 'fd00:96::/64', '--subnet', 'fd00:97::/64', 'x5'], /^lab: --subnet given twice for IPv6/],
    [['sandbox', 'run', '--network', 'six', '--ip6', 'fd00:99::5', '--', 'true'], /^lab: --ip6 fd00:99::5 is not a free host address of network six/],
    [['sandbox', 'run', '--network', 'six', '--ip6', 'fd00:91::1', '--', 'true'], /^lab: --ip6 fd00:91::1 is not a free host address/],
    [['sandbox', 'run', '--network', 'bridge', '--ip6', 'fd00:91::5', '--', 'true'], /^lab: --ip6 needs a network with IPv6; bridge has none/],
    [['sandbox', 'run', '--network', 'six', '-p', '[::1]:9000:80', '--', 'true'], /^lab: -p \[::1\]:9000:80: a port cannot be published on the host's ::1/],
    [['sandbox', 'run', '--network', 'bridge', '-p', '[::]:9001:80', '--', 'true'], /^lab: -p \[::\]:…: network bridge has no IPv6/],
    [['sandbox', 'run', '--network', 'six', '--ip6', 'fd00:91:0:0::80', '--', 'true'], /^lab: address fd00:91::80 is already in use on network six/],
    // a sandbox's v6 address is its v4 address's pair (the same offset in each subnet)
    [['sandbox', 'run', '--network', 'six', '--ip', '10.94.0.5', '--ip6', 'fd00:91::6', '--', 'true'], /^lab: --ip 10\.94\.0\.5 and --ip6 fd00:91::6 are not a pair on network six \(give one of them: --ip6 fd00:91::6 goes with 10\.94\.0\.6, --ip 10\.94\.0\.5 with fd00:91::5\)/],
    [['sandbox', 'run', '--network', 'six', '--ip6', 'fd00:91::1:5', '--', 'true'], /^lab: --ip6 fd00:91::1:5 has no IPv4 address paired with it on network six \(.*fd00:91::2 to fd00:91::fe\)/],
  ]
  const leases = () => readdirSync(join(N.state, 'networks', 'leases', 'six')).sort()
  const before = leases()
  for (const [args, want] of cases) {
    const r = await N.lab(args)
    assert.is.not(r.code, 0, args.join(' '))
    assert.match(r.stderr, want)
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  }
  assert.equal(leases(), before, 'a refused sandbox leaves no lease, of either family')
  const names = (await N.lab(['network', 'ls', '-q'])).stdout.split('\n')
  assert.ok(names.includes('six'), names.join(' '))
  assert.not.ok(names.some((n) => /^x\d$/.test(n)), 'no refused network was kept')
})

test('a sandbox has its v6 address at once (not tentative), the v6 default route via the gateway, and /etc/hosts names it', async () => {
  const r = await run(['--network', 'six', '--ip6', 'fd00:91::77'], 'busybox ip -6 -o addr show dev eth0 scope global; busybox ip -6 route show default; busybox grep fd00 /etc/hosts; busybox cat /proc/sys/net/ipv6/conf/eth0/accept_ra /proc/sys/net/ipv6/conf/eth0/accept_dad')
  const [addr, route, hosts, acceptRa, acceptDad] = r.stdout.trim().split('\n')
  assert.equal([acceptRa, acceptDad], ['0', '0'], 'no router advertisement taken, no DAD on eth0')
  assert.match(addr, /inet6 fd00:91::77\/64 scope global/, r.stderr)
  assert.not.match(addr, /tentative/)
  assert.match(route, /^default via fd00:91::1 dev eth0/)
  assert.match(hosts, /^fd00:91::77\s/)
  // its v4 address is the pair of the v6 one asked for: offset 0x77 of 10.94.0.0/24
  const v4 = await run(['--network', 'six', '--ip6', 'fd00:91::78'], 'busybox ip -4 -o addr show dev eth0; busybox cat /sys/class/net/eth0/address')
  assert.match(v4.stdout, /inet 10\.94\.0\.120\/24 .*\n02:42:0a:5e:00:78\n$/, v4.stderr)
  const paired = await run(['--network', 'six', '--ip', '10.94.0.121'], 'busybox ip -6 -o addr show dev eth0 scope global')
  assert.match(paired.stdout, /inet6 fd00:91::79\/64 scope global/, paired.stderr)
})

test('two sandboxes on a v6 network talk TCP by v6 address and by name and alias (AAAA), and ping6 by name', async () => {
  const r = await run(['--network', 'six', '--cap-add', 'NET_RAW'], `${get('fd00:91::80')}; busybox nslookup -type=AAAA web | busybox grep -c 'Address: fd00:91::80'; busybox nslookup -type=AAAA www | busybox grep -c 'Address: fd00:91::80'; busybox ping6 -c 1 -W 3 web >/dev/null && echo pinged`)
  assert.is(r.stdout, 'web\n1\n1\npinged\n', r.stderr)
  // the name answers both families: A as before
  const a = await run(['--network', 'six'], 'busybox nslookup -type=A web | busybox grep -c "Address: 10.94.0."')
  assert.is(a.stdout, '1\n', a.stderr)
})

test('sandbox inspect: GlobalIPv6Address, GlobalIPv6PrefixLen and IPv6Gateway, as Docker names them', async () => {
  const doc = JSON.parse((await N.lab(['sandbox', 'inspect', 'web'])).stdout)
  const n = (Array.isArray(doc) ? doc[0] : doc).NetworkSettings.Networks.six
  assert.is(n.GlobalIPv6Address, 'fd00:91::80')
  assert.is(n.GlobalIPv6PrefixLen, 64)
  assert.is(n.IPv6Gateway, 'fd00:91::1')
  const q = JSON.parse((await N.lab(['sandbox', 'inspect', 'in1'])).stdout)
  assert.is((Array.isArray(q) ? q[0] : q).NetworkSettings.Networks.closed6.IPv6Gateway, '', '--internal: no v6 default route')
})

test('networks are isolated over v6: no name and no route through the host to a sandbox of another', async () => {
  const r = await run(['--network', 'six2'], `busybox nslookup -type=AAAA web >/dev/null 2>&1 && echo resolved; ${get('fd00:91::80', 8080, 2)}; echo done`)
  assert.is(r.stdout, 'done\n', r.stderr)
})

test('ICC off over v6: the neighbour\'s AAAA resolves, but nothing reaches it', async () => {
  const q1 = (await entryOf('quiet6', 'q1')).address6
  const r = await run(['--network', 'quiet6'], `busybox nslookup -type=AAAA q1 | busybox grep -c "Address: ${q1}"; ${get(q1, 8080, 2)}; echo done`)
  assert.is(r.stdout, '1\ndone\n', r.stderr)
})

test('egress over v6 by NAT66; --internal has no way out but reaches its neighbours', async () => {
  await N.tcpServer(OUT6, 7006, `${N.name}-o`)
  const out = await run(['--network', 'six'], `busybox nc -w 3 ${OUT6} 7006 </dev/null`)
  // the outside sees the namespace's own v6 address: the sandbox's is masqueraded
  assert.is(out.stdout.trim(), HOST6, out.stderr)
  const in1 = (await entryOf('closed6', 'in1')).address6
  const closed = await run(['--network', 'closed6'], `busybox nc -w 2 ${OUT6} 7006 </dev/null; echo "out:$?"; ${get(in1)}; busybox ip -6 route show default | busybox wc -l`)
  assert.is(closed.stdout, 'out:1\nin1\n0\n', closed.stderr)
})

test('a published port answers on the host\'s v6 addresses too; sandbox port prints [::]', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'pub', '--network', 'six', '-p', '18086:8080', '-p', '[::]::8081', '--', 'busybox', 'sh', '-c', 'mkdir -p /tmp/w && echo pub >/tmp/w/index.html && busybox httpd -p 8081 -h /tmp/w && exec busybox httpd -f -p 8080 -h /tmp/w'])
  assert.is(r.code, 0, r.stderr)
  await listening((await entryOf('six', 'pub')).address6, 8080)
  const ports = (await N.lab(['sandbox', 'port', 'pub'])).stdout.trim().split('\n')
  assert.is(ports.length, 3, ports.join('\n'))
  assert.ok(ports.includes('8080/tcp -> 0.0.0.0:18086'), ports.join('\n'))
  assert.ok(ports.includes('8080/tcp -> [::]:18086'), ports.join('\n'))
  const v6only = ports.find((p) => p.startsWith('8081/tcp -> [::]:'))
  assert.ok(v6only, ports.join('\n'))
  const json = JSON.parse((await N.lab(['sandbox', 'inspect', 'pub'])).stdout)
  assert.equal((Array.isArray(json) ? json[0] : json).NetworkSettings.Ports['8080/tcp'], [{HostIp: '0.0.0.0', HostPort: '18086'}, {HostIp: '::', HostPort: '18086'}])
  // from the namespace itself (output) and from the outside namespace (prerouting), by v6 and v4
  assert.is(hostGet(`http://[${HOST6}]:18086/`).stdout, 'pub\n')
  assert.is(hostGet(`http://[${HOST6}]:18086/`, N.extra[0]).stdout, 'pub\n')
  assert.is(hostGet('http://192.0.2.1:18086/', N.extra[0]).stdout, 'pub\n')
  assert.is(hostGet(`http://[${HOST6}]:${v6only.split(':').pop()}/`, N.extra[0]).stdout, 'pub\n')
  assert.is(hostGet(`http://192.0.2.1:${v6only.split(':').pop()}/`, N.extra[0]).code, 1, 'a [::] port is not on v4')
  // ::1 is not DNATed (the kernel would not route it off loopback): refused, not hanging
  assert.is(hostGet('http://[::1]:18086/').code, 1)
})

test('network connect gives a running sandbox a v6 address on the new network (--ip6), disconnect gives it back', async () => {
  const r = await N.lab(['sandbox', 'run', '-d', '--name', 'multi', '--network', 'six2', '--', ...serve('multi')])
  assert.is(r.code, 0, r.stderr)
  const c = await N.lab(['network', 'connect', '--ip6', 'fd00:91::99', 'six', 'multi'])
  assert.match(c.stdout, /^multi eth1 10\.94\.0\.\d+ fd00:91::99\n$/, c.stderr)
  await listening('fd00:91::99', 8080)
  const onSix = await run(['--network', 'six'], `${get('fd00:91::99')}; busybox nslookup -type=AAAA multi | busybox grep -c fd00:91::99`)
  assert.is(onSix.stdout, 'multi\n1\n', onSix.stderr)
  const d = await N.lab(['network', 'disconnect', 'six', 'multi'])
  assert.is(d.code, 0, d.stderr)
  const again = await N.lab(['network', 'connect', '--ip6', 'fd00:91::99', 'six', 'multi'])
  assert.is(again.code, 0, 'the address was given back: ' + again.stderr)
  await N.lab(['sandbox', 'rm', '-f', 'multi'])
})

test('teardown: removing the sandboxes and networks leaves no ip6 table, rule, interface, address or lease', async () => {
  const ids = (await N.lab(['sandbox', 'ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
  assert.is((await N.lab(['sandbox', 'rm', '-f', ...ids])).code, 0)
  for (const n of ['six', 'six2', 'quiet6', 'closed6']) {
    const r = await N.lab(['network', 'rm', n])
    assert.is(r.code, 0, r.stderr)
  }
  const left = N.leftovers({bridges: ['lab0'], tables: ['ip lab_lab0', 'bridge lab_lab0']})
  assert.equal(left, {links: [], addresses: [], tables: [], dns: [], leases: []})
  assert.is(N.ns('nft', ['list', 'tables', 'ip6']).stdout, '')
  assert.not.match(N.ns('ip', ['-6', '-o', 'addr']).stdout, /fd00:91|fd4c:6162/)
})

t.run()
