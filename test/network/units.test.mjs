// The pure parts of networks, without privileges: the nftables ruleset a network's
// records make, the plan lines of an attachment, and address arithmetic.
import {suite} from 'uvu'
import * as assert from 'uvu/assert'

import {ruleset, tableName} from '../../dist/network/firewall.js'
import {cidrText, intToIp, ipToInt, isHost, overlaps, parseCidr} from '../../dist/network/cidr.js'
import {buildPlan, vethPrefix} from '../../dist/sandbox/plan.js'
import {buildSpec} from '../../dist/sandbox/build-spec.js'

const t = suite('network units')
const net = (o = {}) => ({id: 'ab'.repeat(32), name: 'app', driver: 'bridge', bridge: 'lab-ababababab', subnet: '10.91.0.0/24', gateway: '10.91.0.1', internal: false, icc: true, mtu: 65520, dns: true, labels: {}, options: {}, created: '', ...o})

t('a network\'s ruleset: masquerade out, isolation from other lab bridges, anti-spoofing; one DNAT per published port and hook', () => {
  const r = ruleset(net(), [{hostIp: '0.0.0.0', hostPort: 8080, port: 80, proto: 'tcp', address: '10.91.0.2'}, {hostIp: '127.0.0.1', hostPort: 5353, port: 53, proto: 'udp', address: '10.91.0.2'}])
  assert.is(tableName(net()), 'lab_lab_ababababab')
  assert.match(r, /^table ip lab_lab_ababababab\ndelete table ip lab_lab_ababababab\n/)
  assert.match(r, /ip saddr 10\.91\.0\.0\/24 oifname != "lab-ababababab" masquerade/)
  assert.match(r, /iifname "lab-ababababab" oifname "lab\*" oifname != "lab-ababababab" drop/)
  assert.match(r, /iifname "lab-ababababab" ip daddr 127\.0\.0\.0\/8 ct direction original drop/)
  assert.is(r.split('fib daddr type local tcp dport 8080 dnat to 10.91.0.2:80').length - 1, 2)
  assert.is(r.split('ip daddr 127.0.0.1 fib daddr type local udp dport 5353 dnat to 10.91.0.2:53').length - 1, 2)
  assert.match(r, new RegExp(`iifname "${vethPrefix(net().id)}\\*" ether type ip ip saddr != 10\\.91\\.0\\.0/24`))
  assert.not.match(r, /oifname "v\w+\*" drop/, 'ICC is on')
})

t('ICC off drops frames between the network\'s ports; --internal has no masquerade and no way out', () => {
  const r = ruleset(net({icc: false, internal: true}), [])
  const p = vethPrefix(net().id)
  assert.match(r, new RegExp(`iifname "${p}\\*" oifname "${p}\\*" drop`))
  assert.not.match(r, /oifname != "lab-ababababab" masquerade/)
  assert.match(r, /iifname "lab-ababababab" oifname != "lab-ababababab" drop/)
  assert.match(r, /iifname "lab-ababababab" ip daddr 10\.91\.0\.1 meta l4proto \{ tcp, udp \} th dport 53 accept\n\s+iifname "lab-ababababab" drop/)
})

t('a bridged spec plans its own namespace, loopback and one veth line per network', async () => {
  const spec = await buildSpec({command: ['true']})
  spec.network = 'bridge'
  spec.bridge = {networks: [{network: 'app', networkId: 'ab'.repeat(32), bridge: 'lab-ababababab', address: '10.91.0.5', prefix: 24, gateway: null, mtu: 65520, aliases: []}], ports: [], dns: {servers: ['10.91.0.1'], search: [], options: ['ndots:0']}}
  const ops = buildPlan(spec)
  const at = ops.findIndex((o) => o[0] === 'veth')
  assert.equal(ops[at], ['veth', 'lab-ababababab', 'eth0', '10.91.0.5', 24, '-', 65520, vethPrefix('ab'.repeat(32))])
  assert.ok(ops.some((o) => o[0] === 'ns' && o[1] === 'net') && ops.some((o) => o[0] === 'loopback'))
  assert.ok(ops.some((o) => o[0] === 'file' && o[1] === '/etc/resolv.conf' && o[3] === 'nameserver 10.91.0.1\noptions ndots:0\n'))
})

t('addresses: overlap, host addresses, text', () => {
  assert.ok(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.1.2.0/24')))
  assert.not.ok(overlaps(parseCidr('10.1.0.0/24'), parseCidr('10.1.1.0/24')))
  assert.not.ok(isHost(parseCidr('10.1.0.0/24'), ipToInt('10.1.0.255')))
  assert.ok(isHost(parseCidr('10.1.0.0/24'), ipToInt('10.1.0.254')))
  assert.is(intToIp(ipToInt('192.168.255.1')), '192.168.255.1')
  assert.is(cidrText(parseCidr('172.20.0.0/16')), '172.20.0.0/16')
})

t.run()
