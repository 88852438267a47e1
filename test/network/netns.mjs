// A network namespace of the test's own: the CLI runs in it (nsenter --net, which keeps
// the host's /sys and cgroups, unlike `ip netns exec`), so bridges, nftables tables,
// published ports and name servers live there and go with it. Traffic never leaves it
// but to a second namespace a test may make as "the outside" (192.0.2.0/24, TEST-NET-1).
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {LAB} from '../helpers.mjs'

export function haveNetTools() {
  for (const t of [['ip', '-V'], ['nft', '--version'], ['nsenter', '--version'], ['busybox', 'true']]) {
    if (spawnSync(t[0], t.slice(1)).status !== 0) return false
  }
  return true
}

export class TestNetns {
  constructor(tag = 'net') {
    this.name = `labtest-${tag}-${randomBytes(3).toString('hex')}`
    this.state = mkdtempSync(join(tmpdir(), `lab-${tag}-`))
    this.env = {...process.env, LAB_STATE_DIR: this.state}
    execFileSync('ip', ['netns', 'add', this.name])
    this.ns('ip', ['link', 'set', 'lo', 'up'])
    // what lab keeps for the namespace's host, shared by its state directories (src/network/host-wide.ts)
    this.hostDir = `/run/lab/net-${statSync(`/run/netns/${this.name}`).ino}`
    this.extra = []
    this.servers = []
  }

  /** argv run in the namespace */
  nsArgv(cmd, args) {
    return ['nsenter', [`--net=/run/netns/${this.name}`, cmd, ...args]]
  }

  /** a command in the namespace, synchronously: {code, stdout, stderr} */
  ns(cmd, args = [], opts = {}) {
    const [c, a] = this.nsArgv(cmd, args)
    const r = spawnSync(c, a, {encoding: 'utf8', env: this.env, timeout: opts.timeout ?? 60_000, input: opts.input})
    return {code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
  }

  /** `lab ARGS` in the namespace */
  lab(args, opts = {}) {
    return new Promise((resolve) => {
      const [c, a] = this.nsArgv(process.execPath, ['--', LAB, ...args])
      const child = spawn(c, a, {env: opts.env ?? this.env, stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        resolve({code: code ?? 128, stdout, stderr, signal})
      })
    })
  }

  /** spawns `lab ARGS` in the namespace without waiting */
  spawnLab(args) {
    const [c, a] = this.nsArgv(process.execPath, ['--', LAB, ...args])
    return spawn(c, a, {env: this.env, stdio: ['ignore', 'pipe', 'pipe']})
  }

  /** A TCP server in the namespace (or `where`) answering each connection with the peer's address. */
  tcpServer(host, port, where = this.name) {
    const code = `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`
    const p = spawn('nsenter', [`--net=/run/netns/${where}`, process.execPath, '-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
    this.servers.push(p)
    return new Promise((resolve) => p.stdout.once('data', () => resolve(p)))
  }

  /** A second namespace as "the outside": 192.0.2.2 there, 192.0.2.1 here, over a veth pair. */
  outside() {
    const out = `${this.name}-o`
    execFileSync('ip', ['netns', 'add', out])
    this.extra.push(out)
    execFileSync('ip', ['-n', this.name, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out])
    execFileSync('ip', ['-n', this.name, 'addr', 'add', '192.0.2.1/24', 'dev', 'up0'])
    execFileSync('ip', ['-n', this.name, 'link', 'set', 'up0', 'up'])
    execFileSync('ip', ['-n', out, 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0'])
    execFileSync('ip', ['-n', out, 'link', 'set', 'eth0', 'up'])
    execFileSync('ip', ['-n', out, 'link', 'set', 'lo', 'up'])
    return out
  }

  /** What lab may have left in the namespace: links other than lo/up0 and the bridges
   * given, nftables tables other than those given, name server processes of this state. */
  leftovers({bridges = [], tables = []} = {}) {
    const links = this.ns('ip', ['-o', 'link', 'show']).stdout.split('\n').filter(Boolean).map((l) => l.split(': ')[1].split('@')[0])
    const addrs = this.ns('ip', ['-o', '-4', 'addr', 'show']).stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(1, 4).join(' '))
    const tbls = this.ns('nft', ['list', 'tables']).stdout.split('\n').filter(Boolean).map((l) => l.replace(/^table /, ''))
    return {
      links: links.filter((l) => l !== 'lo' && l !== 'up0' && !bridges.includes(l)),
      addresses: addrs.filter((a) => !a.startsWith('lo ') && !a.startsWith('up0 ') && !bridges.some((b) => a.startsWith(b + ' '))),
      tables: tbls.filter((t) => !tables.includes(t)),
      dns: dnsServers(this.state),
      leases: [...leaseFiles(this.state), ...hostLeases(this.hostDir)],
    }
  }

  async cleanup() {
    for (const p of this.servers) p.kill('SIGKILL')
    const ids = (await this.lab(['sandbox', 'ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean)
    if (ids.length) await this.lab(['sandbox', 'rm', '-f', ...ids])
    for (const n of (await this.lab(['network', 'ls', '-q'])).stdout.split('\n').filter((x) => x && x !== 'bridge')) await this.lab(['network', 'rm', n])
    for (const pid of dnsServers(this.state)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
    for (const n of [...this.extra, this.name]) spawnSync('ip', ['netns', 'del', n])
    rmSync(this.state, {recursive: true, force: true})
    rmSync(this.hostDir, {recursive: true, force: true})
  }
}

function hostLeases(dir) {
  try {
    return readdirSync(join(dir, 'lab0-leases')).map((a) => `bridge/${a}`)
  } catch {
    return []
  }
}

/** Name server processes (dns-server.js) serving this state directory's networks. */
export function dnsServers(state) {
  const out = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (!cmd.includes('network/dns-server.js')) continue
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`LAB_STATE_DIR=${state}`)) out.push(Number(pid))
    } catch {}
  }
  return out
}

function leaseFiles(state) {
  const dir = join(state, 'networks', 'leases')
  try {
    return readdirSync(dir).flatMap((n) => readdirSync(join(dir, n)).map((a) => `${n}/${a}`))
  } catch {
    return []
  }
}
