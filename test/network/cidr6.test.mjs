// IPv6 arithmetic (src/network/cidr6.ts) and the pure v6 parts of networks: the ip6 table
// and bridge rules a dual-stack network's records make, the plan line of a v6 attachment,
// and -p with an IPv6 host address.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {cidr6Text, contains6, freeUla64, ipv6Text, isHost6, isIpv6, LAB_ULA, overlaps6, parseCidr6, parseIpv6, size6} from '../../dist/network/cidr6.js'
import {bridgeKey, ruleset} from '../../dist/network/firewall.js'
import {macOf, pairs6, v4Of, v6Of} from '../../dist/network/pairs.js'
import {parsePublish} from '../../dist/network/ports.js'
import {buildPlan, vethPrefix} from '../../dist/sandbox/plan.js'
import {buildSpec} from '../../dist/sandbox/build-spec.js'

const t = suite('network ipv6 units')

t('parses every RFC 4291 text form and prints RFC 5952\'s', () => {
  assert.is(parseIpv6('::'), 0n)
  assert.is(parseIpv6('::1'), 1n)
  assert.is(parseIpv6('fd4c:6162::1'), (0xfd4c6162n << 96n) | 1n)
  assert.is(parseIpv6('FD4C:6162:0:0:0:0:0:1'), parseIpv6('fd4c:6162::1'))
  assert.is(parseIpv6('1:2:3:4:5:6:7:8'), 0x00010002000300040005000600070008n)
  for (const bad of ['', ':', '1:2', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7::8', '12345::', 'g::1', '::ffff:1.2.3.4', 'fe80::1%eth0', '10.0.0.1']) assert.is(parseIpv6(bad), null, bad)
  assert.ok(isIpv6('2001:db8::1'))
  assert.is(ipv6Text(0n), '::')
  assert.is(ipv6Text(1n), '::1')
  assert.is(ipv6Text(parseIpv6('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1', 'the first of two equal zero runs')
  assert.is(ipv6Text(parseIpv6('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1', 'a single zero group is no "::"')
  assert.is(ipv6Text(parseIpv6('fd00:0:0:0:0:0:0:0')), 'fd00::')
  assert.is(ipv6Text(parseIpv6('0:0:0:0:0:0:0:1')), '::1')
})

t('subnets: host bits, prefix range, size, containment, overlap', () => {
  const c = parseCidr6('fd00:1::/64')
  assert.is(cidr6Text(c), 'fd00:1::/64')
  assert.is(size6(c), 1n << 64n)
  assert.ok(contains6(c, parseIpv6('fd00:1::ffff:ffff:ffff:ffff')))
  assert.not.ok(contains6(c, parseIpv6('fd00:1:0:1::')))
  assert.not.ok(isHost6(c, c.base), 'the subnet-router anycast address is no host')
  assert.ok(isHost6(c, c.base + 1n))
  assert.ok(overlaps6(c, parseCidr6('fd00:1::/48')))
  assert.ok(overlaps6(parseCidr6('fd00:1::/48'), c))
  assert.not.ok(overlaps6(c, parseCidr6('fd00:1:0:1::/64')))
  assert.throws(() => parseCidr6('fd00:1::1/64'), (e) => /has host bits set/.test(e.message) && e.hint === 'use fd00:1::/64')
  assert.throws(() => parseCidr6('fd00::/32'), /not an IPv6 subnet/)
  assert.throws(() => parseCidr6('fd00::/121'), /not an IPv6 subnet/)
  assert.throws(() => parseCidr6('10.0.0.0/24'), /not an IPv6 subnet/)
})

t('a free /64 of lab\'s ULA prefix overlaps none taken, and there is none when all are', () => {
  assert.is(cidr6Text(LAB_ULA), 'fd4c:6162::/48')
  const taken = []
  for (let i = 0; i < 50; i++) {
    const c = freeUla64(taken)
    assert.is(c.prefix, 64)
    assert.ok(contains6(LAB_ULA, c.base))
    assert.not.ok(taken.some((x) => overlaps6(x, c)), cidr6Text(c))
    taken.push(c)
  }
  // a /49 and a /50 taken: what is left is the last quarter of the /48
  const half = [parseCidr6('fd4c:6162::/49'), parseCidr6('fd4c:6162:0:8000::/50')]
  for (let i = 0; i < 20; i++) assert.ok(freeUla64(half).base >= parseIpv6('fd4c:6162:0:c000::'))
  assert.is(freeUla64([LAB_ULA]), null)
})

const net = (o = {}) => ({id: 'cd'.repeat(32), name: 'dual', driver: 'bridge', bridge: 'lab-cdcdcdcdcd', subnet: '10.93.0.0/24', gateway: '10.93.0.1', ipv6: true, subnet6: 'fd4c:6162:0:7::/64', gateway6: 'fd4c:6162:0:7::1', internal: false, icc: true, mtu: 65520, dns: true, labels: {}, options: {}, created: '', ...o})

t('a dual-stack network\'s ruleset: an ip6 table with NAT66, isolation and v6 DNAT; v6 anti-spoofing and no router advertisements at the bridge', () => {
  const ports = [
    {hostIp: '0.0.0.0', hostPort: 8080, port: 80, proto: 'tcp', address: '10.93.0.2', address6: 'fd4c:6162:0:7::2'},
    {hostIp: '::', hostPort: 8080, port: 80, proto: 'tcp', address: '10.93.0.2', address6: 'fd4c:6162:0:7::2'},
  ]
  const r = ruleset(net(), ports)
  assert.match(r, /\ntable ip6 lab_lab_cdcdcdcdcd\ndelete table ip6 lab_lab_cdcdcdcdcd\ntable ip6 lab_lab_cdcdcdcdcd \{\n/)
  assert.match(r, /ip6 saddr fd4c:6162:0:7::\/64 oifname != "lab-cdcdcdcdcd" masquerade/)
  assert.match(r, /iifname "lab-cdcdcdcdcd" ip6 daddr ::1 ct direction original drop/)
  assert.is(r.split('ip6 daddr != ::1 fib daddr type local tcp dport 8080 dnat to [fd4c:6162:0:7::2]:80').length - 1, 2, 'prerouting and output')
  assert.is(r.split('dnat to 10.93.0.2:80').length - 1, 2, 'the v4 mapping stays in the ip table')
  const p = vethPrefix(net().id)
  assert.ok(r.includes(`iifname "${p}*" ether type ip6 ip6 saddr != { fd4c:6162:0:7::/64, fe80::/10, :: } drop`))
  assert.ok(r.includes(`iifname "${p}*" ether type ip6 ip6 saddr fd4c:6162:0:7::/64 ip6 saddr . ether saddr != @own6 drop`))
  // every pair the network can hand out, from its creation: 10.93.0.2-254 (not the gateway .1)
  const own = /set own6 \{\n\s+type ipv6_addr \. ether_addr\n\s+elements = \{ ([^}]*) \}/.exec(r)[1].split(/,\s+/)
  assert.is(own.length, 253)
  assert.is(own[0], 'fd4c:6162:0:7::2 . 02:42:0a:5d:00:02')
  assert.is(own.at(-1), 'fd4c:6162:0:7::fe . 02:42:0a:5d:00:fe')
  assert.not.ok(own.some((e) => e.startsWith('fd4c:6162:0:7::1 ')), 'not the gateway')
  assert.ok(r.includes(`iifname "${p}*" ether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop`))
})

t('a sandbox\'s v6 address and MAC are its v4 address\'s pair: the v6 subnet plus the v4 offset', () => {
  const n = net()
  assert.is(v6Of(n, '10.93.0.7'), 'fd4c:6162:0:7::7')
  assert.is(v6Of(n, '10.93.0.254'), 'fd4c:6162:0:7::fe')
  assert.is(v6Of(n, '10.93.0.1'), null, 'the gateway\'s')
  assert.is(v6Of(n, '10.93.0.255'), null, 'broadcast')
  assert.is(v6Of(n, '10.94.0.7'), null, 'another subnet')
  assert.is(v4Of(n, 'fd4c:6162:0:7::7'), '10.93.0.7')
  assert.is(v4Of(n, 'fd4c:6162:0:7::ff'), null, 'the v4 broadcast')
  assert.is(v4Of(n, 'fd4c:6162:0:7::1:7'), null, 'beyond the v4 subnet')
  assert.is(v4Of(n, 'fd4c:6162:0:8::7'), null, 'another v6 subnet')
  assert.is(macOf('10.93.0.7'), '02:42:0a:5d:00:07')
  // a custom v6 gateway takes its offset from both families
  const g = net({gateway6: 'fd4c:6162:0:7::fe'})
  assert.is(v6Of(g, '10.93.0.254'), null)
  assert.is(pairs6(g).length, 252)
  // a v6 subnet smaller than the v4 one pairs only the offsets it holds
  const small = net({subnet: '10.93.0.0/16', subnet6: 'fd4c:6162:0:7::/120'})
  assert.is(pairs6(small).length, 254)
  assert.is(v6Of(small, '10.93.1.0'), null)
  assert.is(pairs6(net({subnet: '10.0.0.0/8'})).length, 65534, 'at most 65,535 offsets')
  assert.equal(pairs6(net({subnet6: undefined, gateway6: undefined})), [])
})

t('the ip tables and the bridge table apply apart: a start sends the bridge table (every pair) only when its key changed', () => {
  const ports = [{hostIp: '0.0.0.0', hostPort: 8080, port: 80, proto: 'tcp', address: '10.93.0.2', address6: 'fd4c:6162:0:7::2'}]
  const ip = ruleset(net(), ports, [], 'ip')
  const br = ruleset(net(), [], [], 'bridge')
  assert.is(ip + br, ruleset(net(), ports))
  assert.not.ok(ip.includes('own6') || ip.includes('table bridge'))
  assert.ok(br.startsWith('table bridge lab_lab_cdcdcdcdcd\n') && !br.includes('dnat'))
  assert.is(bridgeKey(net()), bridgeKey(net()))
  for (const o of [{subnet: '10.93.0.0/23'}, {gateway6: 'fd4c:6162:0:7::fe'}, {icc: false}, {subnet6: undefined, gateway6: undefined}]) assert.is.not(bridgeKey(net(o)), bridgeKey(net()), JSON.stringify(o))
  assert.is.not(bridgeKey(net(), [{address6: 'fd4c:6162:0:7::99', mac: '02:42:0a:5d:00:02'}]), bridgeKey(net()), 'a pair from before pairing')
  // a recorded pair that is not derived joins the set
  assert.ok(ruleset(net(), [], [{address6: 'fd4c:6162:0:7::99', mac: '02:42:0a:5d:00:02'}], 'bridge').includes('fd4c:6162:0:7::99 . 02:42:0a:5d:00:02'))
})

t('--internal v6: no NAT66, nothing in or out, neighbour discovery and the name server only; an IPv4-only network has no ip6 table', () => {
  const r = ruleset(net({internal: true}), [])
  assert.not.match(r, /ip6 saddr fd4c:6162:0:7::\/64 oifname != "lab-cdcdcdcdcd" masquerade/)
  assert.match(r, /table ip6 [^]*iifname "lab-cdcdcdcdcd" oifname != "lab-cdcdcdcdcd" drop/)
  assert.match(r, /iifname "lab-cdcdcdcdcd" icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit \} accept\n\s+iifname "lab-cdcdcdcdcd" ip6 daddr fd4c:6162:0:7::1 meta l4proto \{ tcp, udp \} th dport 53 accept\n\s+iifname "lab-cdcdcdcdcd" drop/)
  assert.ok(r.includes('ip6 saddr . ether saddr != @own6 drop'), 'the same pairs on an --internal network')

  const v4 = ruleset(net({ipv6: undefined, subnet6: undefined, gateway6: undefined}), [])
  assert.match(v4, /table ip6 lab_lab_cdcdcdcdcd\ndelete table ip6 lab_lab_cdcdcdcdcd\ntable bridge/, 'an old ip6 table goes, none is made')
  assert.ok(v4.includes('ip6 saddr != { fe80::/10, :: } drop'), 'only link-local v6 from a sandbox of an IPv4-only network')
})

t('a v6 attachment plans its address, prefix and gateway on the veth line', async () => {
  const spec = await buildSpec({command: ['true']})
  spec.network = 'bridge'
  spec.bridge = {networks: [{network: 'dual', networkId: 'cd'.repeat(32), bridge: 'lab-cdcdcdcdcd', address: '10.93.0.5', prefix: 24, gateway: '10.93.0.1', address6: 'fd4c:6162:0:7::5', prefix6: 64, gateway6: 'fd4c:6162:0:7::1', mtu: 65520, aliases: []}], ports: [], dns: {servers: ['10.93.0.1'], search: [], options: []}}
  const veth = buildPlan(spec).filter((o) => o[0] === 'veth')
  assert.equal(veth, [['veth', 'lab-cdcdcdcdcd', 'eth0', '10.93.0.5', 24, '10.93.0.1', 65520, vethPrefix('cd'.repeat(32)), 'fd4c:6162:0:7::5', 64, 'fd4c:6162:0:7::1']])
  spec.bridge.networks[0].gateway6 = null
  assert.is(buildPlan(spec).find((o) => o[0] === 'veth')[10], '-')
})

t('-p with an IPv6 host address in brackets; ::1 is refused with the reason', () => {
  assert.equal(parsePublish('[::]:8080:80'), [{hostIp: '::', hostPort: 8080, port: 80, proto: 'tcp'}])
  assert.equal(parsePublish('[2001:DB8::0:1]::53/udp'), [{hostIp: '2001:db8::1', hostPort: 0, port: 53, proto: 'udp'}])
  assert.throws(() => parsePublish('[::1]:8080:80'), /cannot be published on the host's ::1/)
  assert.throws(() => parsePublish('[fe80::1%eth0]:8080:80'), /invalid host address/)
  assert.throws(() => parsePublish('[::]:80'), /invalid -p/)
})

t.run()
