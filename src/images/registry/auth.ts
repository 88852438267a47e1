/**
 * Credentials for registries and the two ways a registry asks for them:
 * - `lab login` keeps them in DATA/auth.json (0600, in a 0700 directory: only root or the
 *   user can read it), in Docker's config.json shape ({"auths": {HOST: {"auth": base64}}});
 * - Docker's ~/.docker/config.json (or $DOCKER_CONFIG/config.json) is read next, in
 *   Docker's order: the registry's credential helper ("credHelpers": {HOST: NAME}), else
 *   the default store ("credsStore": NAME), else the plain "auths" entry. A helper is the
 *   program docker-credential-NAME on PATH, run as `get` with the server address on stdin;
 *   it answers {"Username","Secret"} (Username "<token>": Secret is an identity token,
 *   traded at the token service for access, as Docker does) or "credentials not found"
 *   (then the "auths" entry, or anonymous access, as Docker does);
 * - a 401's WWW-Authenticate says Basic (send them) or Bearer realm/service/scope (trade
 *   them, or nothing for anonymous access, for a token at the realm, as Docker Hub does).
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {writeFileAtomic} from '../../sandbox/state/atomic.js'
import {stateRoots} from '../../sandbox/state/paths.js'
import {imageError} from '../errors.js'

export interface Credentials {
  username: string
  password: string
  /** a helper's "<token>" answer: an OAuth2 refresh token for the token service, no password */
  identityToken?: string
}

interface AuthFile {
  auths?: Record<string, {auth?: string; username?: string; password?: string; identitytoken?: string}>
  credsStore?: string
  credHelpers?: Record<string, string>
}

/** Docker's CLI config: $DOCKER_CONFIG/config.json, or ~/.docker/config.json. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
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

function decode(e: {auth?: string; username?: string; password?: string; identitytoken?: string} | undefined): Credentials | null {
  if (!e) return null
  if (typeof e.identitytoken === 'string' && e.identitytoken) return {username: '', password: '', identityToken: e.identitytoken}
  if (e.username && e.password) return {username: e.username, password: e.password}
  if (typeof e.auth !== 'string') return null
  const s = Buffer.from(e.auth, 'base64').toString('utf8')
  const i = s.indexOf(':')
  return i > 0 ? {username: s.slice(0, i), password: s.slice(i + 1)} : null
}

/**
 * The credentials for host: lab's own file (`lab login`) first, then Docker's config
 * (its credential helper or store, then its "auths"); null for anonymous access.
 */
export function lookupCredentials(host: string, stateDir?: string): Credentials | null {
  const own = readAuthFile(authFilePath(stateDir)).auths ?? {}
  for (const k of keysFor(host)) {
    const c = decode(own[k])
    if (c) return c
  }
  const path = dockerConfigPath()
  const docker = readAuthFile(path)
  const helper = helperFor(docker, host)
  if (helper) {
    const c = runCredentialHelper(helper.name, keysFor(host)[0], `${path} ("${helper.key}")`)
    if (c) return c
  }
  const auths = docker.auths ?? {}
  for (const k of keysFor(host)) {
    const c = decode(auths[k])
    if (c) return c
  }
  return null
}

/** Docker's rule: the registry's own entry in credHelpers (keyed by host name), else credsStore. */
function helperFor(cfg: AuthFile, host: string): {name: string; key: string} | null {
  const helpers = cfg.credHelpers && typeof cfg.credHelpers === 'object' ? cfg.credHelpers : {}
  const names = host === 'docker.io' || host === 'registry-1.docker.io' ? ['index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'] : [host]
  for (const k of names) if (typeof helpers[k] === 'string' && helpers[k]) return {name: helpers[k], key: `credHelpers.${k}`}
  if (typeof cfg.credsStore === 'string' && cfg.credsStore) return {name: cfg.credsStore, key: 'credsStore'}
  return null
}

const HELPER_TIMEOUT_MS = 60_000

/**
 * Runs `docker-credential-NAME get` with serverUrl on stdin, as Docker's CLI does. null when
 * the helper has nothing for the server ("credentials not found"); an error when the helper
 * is missing, fails or answers something else.
 */
export function runCredentialHelper(name: string, serverUrl: string, where: string): Credentials | null {
  const program = `docker-credential-${name}`
  // a name from a config file: only a program on PATH, never a path
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw imageError('credential-helper', `the credential helper "${name.slice(0, 80)}" in ${where} is not a helper name`, 'name a helper as Docker does, e.g. "pass" for docker-credential-pass')
  const r = spawnSync(program, ['get'], {input: serverUrl, encoding: 'utf8', timeout: HELPER_TIMEOUT_MS, maxBuffer: 1 << 20, stdio: ['pipe', 'pipe', 'pipe']})
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw imageError('credential-helper', `the credential helper ${program} named in ${where} is not installed`, `install ${program} on PATH, or remove it from the Docker config`)
    if (code === 'ETIMEDOUT') throw imageError('credential-helper', `the credential helper ${program} gave no answer for ${serverUrl} within ${HELPER_TIMEOUT_MS / 1000}s`, 'is it waiting for a password or a locked keyring? run it by hand: echo SERVER | ' + program + ' get')
    throw imageError('credential-helper', `cannot run the credential helper ${program}: ${code ?? r.error.message}`)
  }
  const out = (r.stdout ?? '').trim()
  if (r.status !== 0) {
    // docker-credential-helpers' ErrCredentialsNotFound: nothing stored, anonymous access
    if (/credentials not found/i.test(out) || /credentials not found/i.test(r.stderr ?? '')) return null
    const why = (out || (r.stderr ?? '').trim() || `exit status ${r.status ?? r.signal}`).split('\n')[0].slice(0, 200)
    throw imageError('credential-helper', `the credential helper ${program} failed for ${serverUrl}: ${why}`, `run it by hand to see why: echo ${serverUrl} | ${program} get`)
  }
  let j: {Username?: unknown; Secret?: unknown}
  try {
    j = JSON.parse(out) as typeof j
  } catch {
    throw imageError('credential-helper', `the credential helper ${program} answered something that is not JSON for ${serverUrl}`, 'a helper answers {"ServerURL":…,"Username":…,"Secret":…}')
  }
  const username = typeof j.Username === 'string' ? j.Username : ''
  const secret = typeof j.Secret === 'string' ? j.Secret : ''
  if (!secret) return null
  if (username === '<token>') return {username: '', password: '', identityToken: secret}
  if (!username) throw imageError('credential-helper', `the credential helper ${program} answered a secret without a user name for ${serverUrl}`)
  return {username, password: secret}
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
