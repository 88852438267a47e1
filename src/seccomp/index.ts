/**
 * Seccomp for a sandbox: resolves `--security-opt seccomp=…` to a compiled filter.
 * The profile toolkit (schema, resolve, compile, lint, diff, explain, record) lives
 * beside this file.
 */
import {usageError} from '../errors.js'

export interface SeccompChoice {
  profile: string
  bpfPath: string | null
}

export async function seccompForSandbox(option: string | undefined, _capabilities: string[]): Promise<SeccompChoice> {
  if (option === undefined || option === 'unconfined') return {profile: 'unconfined', bpfPath: null}
  throw usageError(`seccomp profile "${option}" is not available`, 'use --security-opt seccomp=unconfined')
}
