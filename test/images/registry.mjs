// A real registry for the tests: Debian's docker-registry (the CNCF distribution
// registry) on 127.0.0.1 with a free port, anonymous, with htpasswd, or with token auth
// from a small token server run here (JWTs signed with a throwaway key, as a real
// token service signs them).
import {execFile, execFileSync, spawn} from 'node:child_process'
import {createPrivateKey, createSign, randomBytes, X509Certificate} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {join} from 'node:path'

import {tmp} from './fixtures.mjs'

export const hasRegistry = (() => {
  try {
    execFileSync('docker-registry', ['--version'], {stdio: 'ignore'})
    execFileSync('skopeo', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()

export function freePort() {
  return new Promise((res) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address()
      s.close(() => res(port))
    })
  })
}

const b64url = (b) => Buffer.from(b).toString('base64url')

/**
 * A token service: Basic credentials in (GET), or an OAuth2 refresh token (POST
 * grant_type=refresh_token, as Docker sends an identity token), a signed JWT for the
 * asked scopes out. refresh maps refresh tokens to users.
 */
export async function startTokenServer(dir, users, refresh = {}) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'token.key'), '-out', join(dir, 'token.crt'), '-subj', '/CN=lab-test-token', '-days', '1'], {stdio: 'ignore'})
  const key = createPrivateKey(readFileSync(join(dir, 'token.key')))
  const cert = new X509Certificate(readFileSync(join(dir, 'token.crt')))
  const requests = []
  const server = createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x')
    const auth = req.headers.authorization ?? ''
    let user = ''
    let oauth = false
    if (req.method === 'POST') {
      let body = ''
      for await (const c of req) body += c
      const form = new URLSearchParams(body)
      user = refresh[form.get('refresh_token')] ?? ''
      if (form.get('grant_type') !== 'refresh_token' || !user) {
        res.writeHead(401).end()
        return
      }
      oauth = true
      u.searchParams.set('service', form.get('service') ?? '')
      for (const sc of (form.get('scope') ?? '').split(' ').filter(Boolean)) u.searchParams.append('scope', sc)
    } else if (auth.startsWith('Basic ')) {
      const [n, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':')
      if (users[n] !== p) {
        res.writeHead(401).end()
        return
      }
      user = n
    }
    const scopes = u.searchParams.getAll('scope')
    requests.push({user, scopes, service: u.searchParams.get('service'), oauth})
    const access = scopes.map((s) => s.split(':')).filter((p) => p[0] === 'repository').map(([type, name, actions]) => ({type, name, actions: user ? actions.split(',') : actions.split(',').filter((a) => a === 'pull' && name.startsWith('public/'))}))
    const now = Math.floor(Date.now() / 1000)
    const header = {typ: 'JWT', alg: 'RS256', x5c: [cert.raw.toString('base64')]}
    const claims = {iss: 'lab-test', sub: user, aud: u.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access}
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    const sig = createSign('RSA-SHA256').update(input).sign(key)
    const jwt = `${input}.${b64url(sig)}`
    res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(oauth ? {access_token: jwt, expires_in: 300} : {token: jwt}))
  })
  const port = await new Promise((res) => server.listen(0, '127.0.0.1', () => res(server.address().port)))
  return {url: `http://127.0.0.1:${port}/token`, cert: join(dir, 'token.crt'), requests, stop: () => new Promise((r) => server.close(r))}
}

/** Starts a registry; auth: undefined, {htpasswd: {user: pass}} or {token: {user: pass}, refresh?: {refreshToken: user}}. */
export async function startRegistry(auth = {}) {
  const dir = tmp('lab-registry-')
  const port = await freePort()
  let authYaml = ''
  let token = null
  if (auth.htpasswd) {
    const lines = Object.entries(auth.htpasswd).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], {encoding: 'utf8'}).trim())
    writeFileSync(join(dir, 'htpasswd'), lines.join('\n') + '\n')
    authYaml = `auth:\n  htpasswd:\n    realm: lab-test\n    path: ${join(dir, 'htpasswd')}\n`
  }
  if (auth.token) {
    token = await startTokenServer(dir, auth.token, auth.refresh)
    authYaml = `auth:\n  token:\n    realm: ${token.url}\n    service: lab-test-registry\n    issuer: lab-test\n    rootcertbundle: ${token.cert}\n`
  }
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${authYaml}`)
  const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const host = `127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://${host}/v2/`)
      if (r.status === 200 || r.status === 401) break
    } catch {}
    if (child.exitCode !== null) throw new Error(`docker-registry ended: ${stderr}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    host,
    dir,
    token,
    /** the file the registry keeps a blob in, to damage it */
    blobFile: (digest) => join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7), 'data'),
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)))
      await token?.stop()
      execFileSync('rm', ['-rf', dir])
    },
  }
}

/** Runs a program without blocking this process (the token server answers from it). */
export function run(cmd, args) {
  return new Promise((res, rej) => {
    execFile(cmd, args, {encoding: 'utf8', maxBuffer: 64 << 20}, (err, stdout, stderr) => (err ? rej(new Error(`${cmd} ${args.join(' ')}: ${stderr}`)) : res(stdout)))
  })
}

/** skopeo copy into the registry (the reference pusher). */
export function skopeoPush(src, dest, creds, extra = []) {
  return run('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), ...extra, src, `docker://${dest}`])
}

/** skopeo inspect of an image in the registry (the reference reader). */
export async function skopeoInspect(ref, creds, extra = []) {
  return JSON.parse(await run('skopeo', ['inspect', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), ...extra, `docker://${ref}`]))
}

/**
 * A logging proxy in front of a registry on loopback: every request's method, URL and
 * Content-Range is recorded; addHeaders are added to upload-start answers (e.g. the
 * OCI-Chunk-Min-Length a registry may send). The Host header is passed on, so the
 * registry's Location headers name the proxy.
 */
export async function startLoggingProxy(target, {addHeaders = {}} = {}) {
  const {request} = await import('node:http')
  const log = []
  const server = createServer((req, res) => {
    log.push({method: req.method, url: req.url, range: req.headers['content-range'] ?? null, length: Number(req.headers['content-length'] ?? 0)})
    const [host, port] = target.split(':')
    const up = request({host, port: Number(port), method: req.method, path: req.url, headers: req.headers}, (r) => {
      const headers = {...r.headers}
      if (req.method === 'POST' && /\/blobs\/uploads\/?(\?|$)/.test(req.url)) Object.assign(headers, addHeaders)
      res.writeHead(r.statusCode, headers)
      r.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  const port = await new Promise((res) => server.listen(0, '127.0.0.1', () => res(server.address().port)))
  return {host: `127.0.0.1:${port}`, log, stop: () => new Promise((r) => server.close(r))}
}
