/**
 * `--log-opt KEY=VALUE` of a kept sandbox, with the keys of Docker's json-file driver that
 * mean something here: max-size (bytes per log file, at which it rotates) and max-file
 * (files kept, the current one included). The supervisor rotates (src/sandbox-native/logs.c).
 */
import {usageError} from '../errors.js'
import {formatSize, parseSize} from './units.js'

export interface LogOptions {
  maxBytes: number
  maxFiles: number
}

export const DEFAULT_LOG_OPTIONS: LogOptions = {maxBytes: 10 * 1024 * 1024, maxFiles: 2}
const MIN_BYTES = 4096
/** 1 GiB per file and 100 files: logs are kept on the host's disk, and are a quota too. */
const MAX_BYTES = 1024 ** 3
export const MAX_FILES = 100

const HINT = 'use --log-opt max-size=SIZE (e.g. 10m) and --log-opt max-file=N (1 to 100)'

export function parseLogOptions(opts: string[] | undefined): LogOptions {
  const out = {...DEFAULT_LOG_OPTIONS}
  for (const opt of opts ?? []) {
    const eq = opt.indexOf('=')
    const key = eq < 0 ? opt : opt.slice(0, eq)
    const value = eq < 0 ? '' : opt.slice(eq + 1)
    if (key !== 'max-size' && key !== 'max-file') {
      throw usageError(`unknown --log-opt "${key}"`, `lab keeps logs as Docker's json-file driver does and knows max-size and max-file: ${HINT}`)
    }
    if (value === '') throw usageError(`--log-opt ${key} needs a value`, HINT)
    if (key === 'max-size') {
      if (value === '-1') throw usageError('--log-opt max-size=-1 (no limit) is not allowed', `a sandbox's logs are capped on the host's disk; give a size up to ${formatSize(MAX_BYTES)}`)
      out.maxBytes = parseSize(value, '--log-opt max-size', {min: MIN_BYTES})
      if (out.maxBytes > MAX_BYTES) throw usageError(`--log-opt max-size=${value} is too large`, `the most is ${formatSize(MAX_BYTES)} per file; keep more files with max-file instead`)
    } else {
      if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > MAX_FILES) {
        throw usageError(`invalid --log-opt max-file "${value}"`, `give a whole number of files from 1 to ${MAX_FILES}`)
      }
      out.maxFiles = Number(value)
    }
  }
  return out
}
