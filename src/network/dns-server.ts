/**
 * The name server of one user-defined network (Docker's embedded DNS, as a small process
 * of its own): it listens on the network's gateway address, port 53/udp, and answers A
 * queries (and AAAA ones, with the v6 address, on an IPv6 network) for the names of the
 * network's running sandboxes: name, hostname, short id and --network-alias. Other names
 * go to the host's name servers on a network with a way out (never on an --internal one).
 * It reads the records on each query, so an entry exists exactly as long as its sandbox
 * runs; it ends by itself when its network is removed.
 *
 *   LAB_STATE_DIR=… node dns-server.js NETWORK
 */
import {createSocket, type RemoteInfo} from 'node:dgram'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../sandbox/state/atomic.js'
import {processStartTime} from '../sandbox/state/proc.js'
import {Store} from '../sandbox/state/store.js'
import {sandboxRunning} from './alive.js'
import type {NetworkRecord} from './store.js'

const [networkName] = process.argv.slice(2)
const store = new Store()
const netFile = join(store.roots.data, 'networks', `${networkName}.json`)
const net = JSON.parse(readFileSync(netFile, 'utf8')) as NetworkRecord

function upstreams(): string[] {
  if (net.internal) return []
  try {
    return readFileSync('/etc/resolv.conf', 'utf8').split('\n').map((l) => /^\s*nameserver\s+([\d.]+)\s*$/.exec(l)?.[1]).filter((a): a is string => a !== undefined)
  } catch {
    return []
  }
}

interface Addresses {
  a: string
  /** on an IPv6 network */
  aaaa?: string
}

/** name (lower case) → addresses, as the asking sandbox sees them (Docker's embedded DNS):
 * the running sandboxes of every network it is on, each by its addresses on that network. */
function names(asker: string): Map<string, Addresses> {
  const out = new Map<string, Addresses>()
  const running = store.all().filter((rec) => rec.spec.bridge && sandboxRunning(store, rec.id))
  const me = running.find((rec) => rec.spec.bridge!.networks.some((n) => n.networkId === net.id && (n.address === asker || n.address6 === asker)))
  const mine = new Set((me?.spec.bridge!.networks ?? []).map((n) => n.networkId))
  mine.add(net.id)
  for (const rec of running) {
    for (const att of rec.spec.bridge!.networks) {
      if (!mine.has(att.networkId)) continue
      // the asker's own network first: an address it reaches directly
      if (att.networkId !== net.id && out.has(rec.name.toLowerCase())) continue
      for (const n of [rec.name, rec.spec.hostname, rec.id.slice(0, 12), ...att.aliases]) {
        if (att.networkId === net.id || !out.has(n.toLowerCase())) out.set(n.toLowerCase(), {a: att.address, ...(att.address6 ? {aaaa: att.address6} : {})})
      }
    }
  }
  return out
}

interface Question {
  name: string
  type: number
  end: number
}

function question(msg: Buffer): Question | null {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null
  const labels: string[] = []
  let i = 12
  while (i < msg.length) {
    const len = msg[i]
    if (len === 0) break
    if (len > 63 || i + 1 + len > msg.length) return null
    labels.push(msg.toString('latin1', i + 1, i + 1 + len))
    i += 1 + len
  }
  if (i + 5 > msg.length) return null
  return {name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5}
}

/** An IPv6 address's 16 bytes (the records hold the canonical text). */
function v6Bytes(address: string): Buffer {
  const halves = address.split('::')
  const groups = (t: string) => (t ? t.split(':') : [])
  const head = groups(halves[0])
  const tail = halves.length === 2 ? groups(halves[1]) : []
  const all = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail]
  const b = Buffer.alloc(16)
  all.forEach((g, i) => b.writeUInt16BE(Number.parseInt(g, 16), 2 * i))
  return b
}

function reply(msg: Buffer, q: Question, rcode: number, address?: string): Buffer {
  const head = Buffer.from(msg.subarray(0, q.end))
  // QR, the query's opcode and RD, RA, rcode
  head.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2)
  head.writeUInt16BE(1, 4)
  head.writeUInt16BE(address ? 1 : 0, 6)
  head.writeUInt32BE(0, 8)
  if (!address) return head
  const data = address.includes(':') ? v6Bytes(address) : Buffer.from(address.split('.').map(Number))
  const rr = Buffer.alloc(12)
  rr.writeUInt16BE(0xc00c, 0) // the question's name
  rr.writeUInt16BE(data.length === 16 ? 28 : 1, 2) // AAAA or A
  rr.writeUInt16BE(1, 4) // IN
  rr.writeUInt32BE(0, 6) // no caching: a sandbox's address may change with its next start
  rr.writeUInt16BE(data.length, 10)
  return Buffer.concat([head, rr, data])
}

const sock = createSocket('udp4')

function forward(msg: Buffer, q: Question, from: RemoteInfo): void {
  const servers = upstreams()
  if (!servers.length) return void sock.send(reply(msg, q, net.internal ? 3 : 2), from.port, from.address)
  const up = createSocket('udp4')
  const done = (answer: Buffer) => {
    clearTimeout(timer)
    up.close()
    sock.send(answer, from.port, from.address)
  }
  const timer = setTimeout(() => done(reply(msg, q, 2)), 3000)
  up.on('message', (answer) => done(answer))
  up.on('error', () => done(reply(msg, q, 2)))
  up.send(msg, 53, servers[0])
}

sock.on('message', (msg, from) => {
  const q = question(msg)
  if (!q) return
  const address = names(from.address).get(q.name.replace(/\.$/, ''))
  // a known name without a record of the type asked: NOERROR with no answer (NODATA)
  if (address !== undefined) return void sock.send(reply(msg, q, 0, q.type === 1 ? address.a : q.type === 28 ? address.aaaa : undefined), from.port, from.address)
  // a single label is a sandbox's name or nothing: it is not asked outside
  if (!q.name.includes('.')) return void sock.send(reply(msg, q, 3), from.port, from.address)
  forward(msg, q, from)
})

sock.bind(53, net.gateway, () => {
  writeFileAtomic(join(store.roots.data, 'networks', `${networkName}.dns`), `${process.pid} ${processStartTime(process.pid)}\n`)
})
sock.on('error', (e) => {
  process.stderr.write(`lab dns ${networkName}: ${e.message}\n`)
  process.exit(1)
})

// gone with its network (removed, or recreated under the same name)
setInterval(() => {
  const now = existsSync(netFile) ? (JSON.parse(readFileSync(netFile, 'utf8')) as NetworkRecord) : null
  if (!now || now.id !== net.id || !existsSync(`/proc/sys/net/ipv4/conf/${net.bridge}`)) process.exit(0)
}, 1000).unref()
setInterval(() => {}, 1 << 30)
