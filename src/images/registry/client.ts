/**
 * A client for the OCI distribution API (/v2/…), on Node's own http/https modules (not
 * fetch: its web streams cost a tenth of a 50 MB pull in a profile):
 * - HTTPS always, except plain HTTP to a registry on loopback (127.0.0.0/8, ::1,
 *   localhost) or one named with --insecure-registry; for those HTTPS is tried first and
 *   HTTP used when the registry does not speak TLS, as Docker does;
 * - auth on demand: a 401 names Basic or Bearer (auth.ts); tokens are kept per scope; an
 *   identity token (a credential helper's "<token>") is traded by an OAuth2 refresh-token
 *   POST at the realm, as Docker's client does;
 * - redirects (blob storage) are followed by hand, never to plain HTTP elsewhere, and
 *   credentials are not sent to another host.
 */
import {request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders} from 'node:http'
import {request as httpsRequest} from 'node:https'
import type {Readable} from 'node:stream'

import {imageError} from '../errors.js'
import {authRequired, basicHeader, lookupCredentials, parseChallenge, type Credentials} from './auth.js'

export interface RegistryOptions {
  stateDir?: string
  /** hosts (host[:port]) allowed over plain HTTP besides loopback */
  insecure?: string[]
  credentials?: Credentials | null
  /** tests and labs: how long to wait for response headers */
  timeoutMs?: number
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

export function insecureFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.LAB_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean)
}

/** A response's body: read it (for await: Buffers) or cancel it. */
export type Body = IncomingMessage & {cancel(): Promise<void>}

export interface Resp {
  status: number
  headers: {get(name: string): string | null}
  body: Body
  url: string
}

/** A request body: bytes, or a stream made afresh for each attempt. */
type RequestBody = Buffer | (() => Readable)

/** The whole body as text (an error's or a token's: small). */
export async function bodyText(r: Resp, cap = 1 << 20): Promise<string> {
  const chunks: Buffer[] = []
  let n = 0
  for await (const c of r.body as AsyncIterable<Buffer>) {
    if ((n += c.length) > cap) break
    chunks.push(c)
  }
  r.body.destroy()
  return Buffer.concat(chunks).toString('utf8')
}

export class RegistryClient {
  readonly host: string
  private base: string | null = null
  private readonly insecure: boolean
  private creds: Credentials | null | undefined
  private tokens = new Map<string, string>()
  private basic = false
  private readonly timeoutMs: number

  constructor(host: string, private opts: RegistryOptions = {}) {
    // Docker Hub's API lives on registry-1.docker.io
    this.host = host === 'docker.io' ? 'registry-1.docker.io' : host
    this.insecure = isLoopbackHost(this.host) || (opts.insecure ?? []).includes(host) || (opts.insecure ?? []).includes(this.host)
    this.creds = opts.credentials
    this.timeoutMs = opts.timeoutMs ?? 30_000
  }

  private credentials(): Credentials | null {
    if (this.creds === undefined) this.creds = lookupCredentials(this.host === 'registry-1.docker.io' ? 'docker.io' : this.host, this.opts.stateDir)
    return this.creds
  }

  /** https://HOST, or http://HOST for an insecure registry that does not speak TLS. */
  async origin(): Promise<string> {
    if (this.base) return this.base
    const https = `https://${this.host}`
    try {
      await this.raw('GET', `${https}/v2/`, {})
      this.base = https
    } catch (e) {
      if (!this.insecure) throw e
      this.base = `http://${this.host}`
    }
    return this.base
  }

  /** One HTTP exchange, no redirects followed; resolves at the response's headers. */
  private raw(method: string, url: string, headers: Record<string, string>, body?: RequestBody): Promise<Resp> {
    return new Promise((resolve, reject) => {
      const u = new URL(url)
      const send = u.protocol === 'https:' ? httpsRequest : httpRequest
      const h: OutgoingHttpHeaders = {...headers}
      if (Buffer.isBuffer(body)) h['content-length'] = String(body.length)
      let timedOut = false
      const req = send(u, {method, headers: h})
      const timer = setTimeout(() => {
        timedOut = true
        req.destroy()
      }, this.timeoutMs)
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        const why = timedOut ? `no answer within ${this.timeoutMs / 1000}s` : e.code ?? e.message
        reject(imageError('registry-unreachable', `cannot reach the registry ${this.host}: ${why}`, isLoopbackHost(this.host) ? 'is the registry running on that port?' : 'check the name, your network, and --insecure-registry for a registry without TLS'))
      })
      req.on('response', (res) => {
        clearTimeout(timer)
        const b = Object.assign(res, {cancel: async () => void res.destroy()})
        const get = (name: string) => {
          const v = res.headers[name.toLowerCase()]
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v
        }
        resolve({status: res.statusCode ?? 0, headers: {get}, body: b, url})
      })
      if (body === undefined || Buffer.isBuffer(body)) req.end(body)
      else body().on('error', (e) => req.destroy(e)).pipe(req)
    })
  }

  private async authorize(challenge: string | null, scope: string): Promise<boolean> {
    const c = parseChallenge(challenge ?? undefined)
    const creds = this.credentials()
    if (!c) return false
    if (c.scheme === 'basic') {
      // an identity token is for a token service, never sent as a password
      if (!creds || creds.identityToken || this.basic) throw authRequired(this.host, Boolean(creds))
      this.basic = true
      return true
    }
    const realm = c.params.realm
    if (!realm || !/^https?:\/\//.test(realm)) throw imageError('registry-auth', `${this.host} asked for a token from "${realm ?? ''}", which is not a URL`)
    const u = new URL(realm)
    if (u.protocol === 'http:' && !isLoopbackHost(u.host) && !(this.opts.insecure ?? []).includes(u.host)) throw imageError('registry-auth', `${this.host} asked for a token over plain HTTP from ${u.host}`, 'lab sends credentials over plain HTTP only on loopback or with --insecure-registry')
    if (c.params.service) u.searchParams.set('service', c.params.service)
    const wanted = c.params.scope ?? scope
    let r: Resp
    if (creds?.identityToken) {
      const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'lab'})
      if (c.params.service) form.set('service', c.params.service)
      form.set('scope', wanted.split(' ').filter(Boolean).join(' '))
      u.searchParams.delete('service')
      r = await this.raw('POST', u.toString(), {'content-type': 'application/x-www-form-urlencoded'}, Buffer.from(form.toString()))
    } else {
      for (const s of wanted.split(' ').filter(Boolean)) u.searchParams.append('scope', s)
      r = await this.raw('GET', u.toString(), creds ? {authorization: basicHeader(creds)} : {})
    }
    const text = await bodyText(r)
    if (r.status === 401 || r.status === 403) throw authRequired(this.host, Boolean(creds))
    if (r.status !== 200) throw imageError('registry-auth', `the token service of ${this.host} answered ${r.status}`)
    let tok: string | undefined
    try {
      const j = JSON.parse(text) as {token?: string; access_token?: string}
      tok = j.token ?? j.access_token
    } catch {}
    if (!tok) throw imageError('registry-auth', `the token service of ${this.host} sent no token`)
    this.tokens.set(scope, tok)
    return true
  }

  private authHeader(scope: string): Record<string, string> {
    const t = this.tokens.get(scope)
    if (t) return {authorization: `Bearer ${t}`}
    const c = this.credentials()
    if (this.basic && c) return {authorization: basicHeader(c)}
    return {}
  }

  /**
   * One API call: path below /v2/ (or a full URL from a Location header), with auth
   * for scope ("repository:NAME:pull" or ":pull,push"); redirects followed.
   */
  async request(method: string, path: string, scope: string, o: {headers?: Record<string, string>; body?: RequestBody} = {}): Promise<Resp> {
    const base = await this.origin()
    let url = /^https?:\/\//.test(path) ? path : `${base}/v2/${path}`
    for (let attempt = 0; attempt < 3; attempt++) {
      let r = await this.raw(method, url, {...(o.headers ?? {}), ...this.authHeader(scope)}, o.body)
      if (r.status === 401) {
        await r.body?.cancel()
        // a second 401 with what the registry asked for: it does not grant this scope
        if (this.tokens.has(scope) || (this.basic && attempt > 0)) throw authRequired(this.host, Boolean(this.credentials()))
        if (!(await this.authorize(r.headers.get('www-authenticate'), scope))) throw authRequired(this.host, Boolean(this.credentials()))
        continue
      }
      for (let hops = 0; r.status >= 300 && r.status < 400 && r.headers.get('location') && (method === 'GET' || method === 'HEAD'); hops++) {
        if (hops >= 5) throw imageError('registry-redirects', `${this.host} redirected more than 5 times`)
        await r.body?.cancel()
        const next = new URL(r.headers.get('location')!, url)
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && (isLoopbackHost(next.host) || this.insecure))) throw imageError('registry-redirect', `${this.host} redirected to ${next.protocol}//${next.host}, which lab does not follow`, 'lab follows redirects to HTTPS only')
        const sameHost = next.host === new URL(url).host
        url = next.toString()
        r = await this.raw(method, url, {...(o.headers ?? {}), ...(sameHost ? this.authHeader(scope) : {})})
      }
      return r
    }
    throw authRequired(this.host, true)
  }
}

/** The registry's error body ({"errors":[{"code","message"}]}) in a line. */
export async function errorText(r: Resp): Promise<string> {
  const text = await bodyText(r, 4096)
  try {
    const j = JSON.parse(text) as {errors?: Array<{code?: string; message?: string}>}
    if (j.errors?.length) return j.errors.map((e) => `${e.code ?? ''}${e.message ? `: ${e.message}` : ''}`).join('; ')
  } catch {}
  return `HTTP ${r.status}`
}
