/** Parsing of sizes ("64m", "1.5g", "512k", "100") and durations ("10s", "1m30s", "250ms"). */
import {usageError} from '../errors.js'

const SIZE_UNITS: Record<string, number> = {'': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4}

/** Bytes from a Docker-style size. Throws a usage error naming the flag. */
export function parseSize(value: string, flag: string, opts: {min?: number} = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value)
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined
  if (!m || unit === undefined) {
    throw usageError(`invalid size "${value}" for ${flag}`, 'use a number with an optional unit b, k, m or g, e.g. 64m')
  }
  const bytes = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(bytes)) throw usageError(`size "${value}" for ${flag} is too large`)
  if (opts.min !== undefined && bytes < opts.min) {
    throw usageError(`size "${value}" for ${flag} is too small`, `the minimum is ${formatSize(opts.min)}`)
  }
  return bytes
}

export function formatSize(bytes: number): string {
  for (const [u, f] of [['g', 1024 ** 3], ['m', 1024 ** 2], ['k', 1024]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`
  }
  return `${bytes}b`
}

const DURATION_UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** Milliseconds from "250ms", "10s", "1m30s", "2h" or a bare number of seconds. */
export function parseDuration(value: string, flag: string): number {
  const v = value.trim()
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy
  let total = 0
  let consumed = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(v))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]]
    consumed = re.lastIndex
  }
  if (consumed !== v.length || v.length === 0) {
    throw usageError(`invalid duration "${value}" for ${flag}`, 'use e.g. 500ms, 10s, 1m30s or a number of seconds')
  }
  return Math.round(total)
}
