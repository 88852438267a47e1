/**
 * Credentials for registries and the two ways a registry asks for them:
 * - `lab login` keeps them in DATA/auth.json (0600, in a 0700 directory: only root or the
 *   user can read it), in Docker's config.json shape ({"auths": {HOST: {"auth": base64}}});
 * - Docker's ~/.docker/config.json (or $DOCKER_CONFIG/config.json) is read too, for plain
 *   "auth" entries (credential helpers are not run);
 * - a 401's WWW-Authenticate says Basic (send them) or Bearer realm/service/scope (trade
 *   them, or nothing for anonymous access, for a token at the realm, as Docker Hub does).
 */
import {chmodSync, mkdirSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {writeFileAtomic} from '../../sandbox/state/atomic.js'
import {stateRoots} from '../../sandbox/state/paths.js'
import {imageError} from '../errors.js'

export interface Credentials {
  username: string
  password: string
}

interface AuthFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string}>
}

export function authFilePath(stateDir?: string): string {
  return join(stateRoots(stateDir).data, 'auth.json')
}

/** Docker's keys: "https://index.docker.io/v1/" for Docker Hub, else host[:port]. */
function keysFor(host: string): string[] {
  if (host === 'docker.io' || host === 'registry-1.docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']
  return [host, `https://${host}`, `http://${host}`]
}

function readAuthFile(path: string): AuthFile {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AuthFile
  } catch {
    return {}
  }
}

function decode(e: {auth?: string; username?: string; password?: string} | undefined): Credentials | null {
  if (!e) return null
  if (e.username && e.password) return {username: e.username, password: e.password}
  if (typeof e.auth !== 'string') return null
  const s = Buffer.from(e.auth, 'base64').toString('utf8')
  const i = s.indexOf(':')
  return i > 0 ? {username: s.slice(0, i), password: s.slice(i + 1)} : null
}

export function lookupCredentials(host: string, stateDir?: string): Credentials | null {
  const files = [authFilePath(stateDir), join(process.env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')]
  for (const f of files) {
    const auths = readAuthFile(f).auths ?? {}
    for (const k of keysFor(host)) {
      const c = decode(auths[k])
      if (c) return c
    }
  }
  return null
}

export function saveCredentials(host: string, c: Credentials | null, stateDir?: string): string {
  const path = authFilePath(stateDir)
  mkdirSync(dirname(path), {recursive: true, mode: 0o711})
  const file = readAuthFile(path)
  const auths = {...(file.auths ?? {})}
  const key = keysFor(host)[0]
  if (c) auths[key] = {auth: Buffer.from(`${c.username}:${c.password}`).toString('base64')}
  else delete auths[key]
  writeFileAtomic(path, JSON.stringify({...file, auths}, null, 2) + '\n', 0o600)
  chmodSync(path, 0o600)
  return path
}

export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas). */
export function parseChallenge(header: string | undefined): Challenge | null {
  if (!header) return null
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header)
  if (!m) return null
  const scheme = m[1].toLowerCase()
  if (scheme !== 'basic' && scheme !== 'bearer') return null
  const params: Record<string, string> = {}
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g
  let p: RegExpExecArray | null
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  return {scheme, params}
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}

export function authRequired(host: string, had: boolean): Error {
  return had
    ? imageError('unauthorized', `${host} refused the credentials`, `check them and run \`lab login ${host}\` again`)
    : imageError('unauthorized', `${host} needs a login for this`, `run \`lab login ${host}\` (or docker login), then try again`)
}
