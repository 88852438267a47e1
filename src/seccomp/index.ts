/**
 * Seccomp for a sandbox: resolves `--security-opt seccomp=…` to a compiled filter.
 * No option means the built-in `default` profile (hardening is on by default);
 * `unconfined` is an explicit choice and shows as profile "unconfined" in the result.
 * The profile toolkit (schema, resolve, compile, lint, diff, explain, record) lives
 * beside this file. On the start-up path only: read + check the profile, hash the
 * resolved rules, find the cached BPF; libseccomp runs only for a new profile.
 */
import {compileResolved, lookupCompiled, rememberCompiled} from './compile.js'
import {loadProfileFile} from './load.js'
import {DEFAULT_PROFILE, findProfile} from './profiles.js'
import {hostContext, resolveProfile} from './resolve.js'

export interface SeccompChoice {
  profile: string
  bpfPath: string | null
}

export async function seccompForSandbox(option: string | undefined, capabilities: string[]): Promise<SeccompChoice> {
  if (option === 'unconfined') return {profile: 'unconfined', bpfPath: null}
  const ref = findProfile(option ?? DEFAULT_PROFILE)
  const ctx = hostContext(capabilities)
  // Fast path: this very file (same inode, size, times) was checked and compiled before.
  const known = lookupCompiled(ref.path, ctx)
  if (known) return {profile: ref.id, bpfPath: known}
  const {profile} = await loadProfileFile(ref.path)
  const {bpfPath} = await compileResolved(resolveProfile(profile, ctx))
  rememberCompiled(ref.path, ctx, bpfPath)
  return {profile: ref.id, bpfPath}
}
