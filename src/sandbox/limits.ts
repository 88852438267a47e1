/**
 * Resource limits: the Docker-named flags (-m, --memory-swap, --cpus, --cpu-shares,
 * --cpuset-cpus, --pids-limit, --blkio-weight, --device-{read,write}-{bps,iops}) plus
 * --cpu-time and --output-limit, parsed and checked into one Limits object. Defaults
 * are applied here, once; the cgroup backends (cgroups/v1.ts, v2.ts) only translate.
 */
import {statSync} from 'node:fs'
import {availableParallelism} from 'node:os'

import {usageError} from '../errors.js'
import {parseDuration, parseSize} from './units.js'

export type ThrottleKind = 'rbps' | 'wbps' | 'riops' | 'wiops'

export interface DeviceThrottle {
  /** the host block device, as given (for messages) */
  path: string
  major: number
  minor: number
  kind: ThrottleKind
  /** bytes or operations per second */
  rate: number
}

export interface Limits {
  /** hard memory limit (RAM); null: none */
  memoryBytes: number | null
  /** memory + swap (Docker's --memory-swap); equal to memoryBytes means no swap; -1 unlimited swap */
  memorySwapBytes: number | null
  /** CPU quota in CPUs (0.5 = half of one CPU per period) */
  cpus: number | null
  /** relative CPU weight, Docker's scale (2..262144, 1024 = default) */
  cpuShares: number | null
  /** CPUs the sandbox may run on, kernel list syntax ("0-1,3") */
  cpusetCpus: string | null
  /** most tasks (processes and threads) at once; null: none */
  pids: number | null
  /** relative block I/O weight, Docker's scale (10..1000) */
  blkioWeight: number | null
  deviceThrottle: DeviceThrottle[]
  /** CPU time of all processes together, in ms; the run is ended when it is used up */
  cpuTimeMs: number | null
  /** bytes of stdout+stderr passed on; beyond it output is cut and the run ended */
  outputBytes: number | null
}

/**
 * Limits as a caller asks for them: Docker's flag text ("256m", "1.5", "10s"), or typed
 * numbers in base units (bytes, CPUs, a count, milliseconds) from callers that already
 * hold numbers (grading, CI, workers), so nothing is turned back into text to be parsed.
 */
export interface LimitsRequest {
  /** bytes, or SIZE text */
  memory?: string | number
  /** bytes (-1: unlimited swap), or SIZE text */
  memorySwap?: string | number
  cpus?: string | number
  cpuShares?: string | number
  cpusetCpus?: string
  /** most tasks at once (-1: none) */
  pidsLimit?: string | number
  blkioWeight?: string | number
  deviceReadBps?: string[]
  deviceWriteBps?: string[]
  deviceReadIops?: string[]
  deviceWriteIops?: string[]
  /** milliseconds, or DURATION text */
  cpuTime?: string | number
  /** bytes, or SIZE text */
  outputLimit?: string | number
}

/** A typed number checked as its text form would be; text goes to the parser. */
function sizeOf(v: string | number, flag: string, min: number): number {
  if (typeof v === 'string') return parseSize(v, flag, {min})
  if (!Number.isSafeInteger(v) || v < min) throw usageError(`invalid ${flag} ${v}`, `give whole bytes, at least ${min}`)
  return v
}

function durationOf(v: string | number, flag: string): number {
  if (typeof v === 'string') return parseDuration(v, flag)
  if (!Number.isSafeInteger(v) || v < 0) throw usageError(`invalid ${flag} ${v}`, 'give whole milliseconds')
  return v
}

const text = (v: string | number): string => String(v)

/** Docker's minimum for -m: less cannot even hold the sandbox's own set-up. */
export const MIN_MEMORY = 6 * 1024 * 1024
/** Without -m a sandbox still cannot take the host's memory. */
export const DEFAULT_MEMORY = 2 * 1024 ** 3
/** Without --pids-limit a fork bomb still stops here. */
export const DEFAULT_PIDS = 1024

export const DEFAULT_LIMITS: Limits = {
  memoryBytes: DEFAULT_MEMORY,
  memorySwapBytes: DEFAULT_MEMORY,
  cpus: null,
  cpuShares: null,
  cpusetCpus: null,
  pids: DEFAULT_PIDS,
  blkioWeight: null,
  deviceThrottle: [],
  cpuTimeMs: null,
  outputBytes: null,
}

function integer(value: string, flag: string, min: number, max: number, hint: string): number {
  const v = value.trim()
  const n = /^-?\d+$/.test(v) ? Number(v) : Number.NaN
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usageError(`invalid ${flag} "${value}"`, hint)
  return n
}

function parseCpus(value: string): number {
  const max = availableParallelism()
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN // Docker takes .25
  if (!(n >= 0.01 && n <= max)) throw usageError(`invalid --cpus "${value}"`, `give a number of CPUs from 0.01 to ${max}, e.g. --cpus 0.5`)
  return Math.round(n * 100) / 100
}

/** "0-2,5" → validated against the host's CPUs; returned in the kernel's list syntax. */
export function parseCpuList(value: string, flag = '--cpuset-cpus'): string {
  const max = availableParallelism() - 1
  const hint = `list CPUs 0 to ${max} as ranges, e.g. ${flag} 0-${max} or ${flag} 0`
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(value)) throw usageError(`invalid ${flag} "${value}"`, hint)
  for (const part of value.split(',')) {
    const [a, b = a] = part.split('-').map(Number)
    if (a > b || b > max) throw usageError(`invalid ${flag} "${value}": CPU ${b > max ? b : a} ${b > max ? 'does not exist' : 'range is reversed'}`, hint)
  }
  return value
}

/** --device-read-bps /dev/sda:10mb → the block device's numbers and the rate. */
function parseThrottle(value: string, flag: string, kind: ThrottleKind): DeviceThrottle {
  const idx = value.lastIndexOf(':')
  const path = value.slice(0, idx)
  const rateText = value.slice(idx + 1)
  const iops = kind.endsWith('iops')
  const example = iops ? `${flag} /dev/sda:1000` : `${flag} /dev/sda:10mb`
  if (idx <= 0 || !path.startsWith('/')) throw usageError(`invalid ${flag} "${value}"`, `use DEVICE:RATE, e.g. ${example}`)
  let st
  try {
    st = statSync(path)
  } catch {
    throw usageError(`${flag}: ${path} does not exist`, `name a block device of this host, e.g. ${example}`)
  }
  if (!st.isBlockDevice()) throw usageError(`${flag}: ${path} is not a block device`, `name a block device of this host, e.g. ${example}`)
  const rate = iops ? integer(rateText, flag, 1, 2 ** 40, `the rate is a positive number of operations per second, e.g. ${example}`) : parseSize(rateText, flag, {min: 1})
  // st.rdev packs the numbers as the kernel's new_encode_dev does.
  const major = Math.floor(st.rdev / 256) & 0xfff
  const minor = (st.rdev & 0xff) | ((Math.floor(st.rdev / 4096) & 0xfff00) >>> 0)
  return {path, major, minor, kind, rate}
}

/** How many CPUs the sandbox can keep busy at once: the fastest it can burn CPU time (--cpu-time). */
export function cpuParallelism(l: Limits): number {
  let n = availableParallelism()
  if (l.cpus !== null) n = Math.min(n, l.cpus)
  if (l.cpusetCpus !== null) {
    n = Math.min(n, l.cpusetCpus.split(',').reduce((sum, part) => {
      const [a, b = a] = part.split('-').map(Number)
      return sum + b - a + 1
    }, 0))
  }
  return Math.max(n, 0.01)
}

/** Flags → Limits, with the defaults filled in. Every bad value is a one-line usage error. */
export function parseLimits(req: LimitsRequest): Limits {
  const l: Limits = {...DEFAULT_LIMITS, deviceThrottle: []}
  if (req.memory !== undefined) {
    l.memoryBytes = sizeOf(req.memory, '--memory', MIN_MEMORY)
    l.memorySwapBytes = l.memoryBytes
  }
  if (req.memorySwap !== undefined) {
    if (text(req.memorySwap).trim() === '-1') l.memorySwapBytes = -1
    else {
      const swap = sizeOf(req.memorySwap, '--memory-swap', MIN_MEMORY)
      if (req.memory === undefined) throw usageError('--memory-swap needs --memory', 'give both, e.g. -m 512m --memory-swap 1g for 512m of swap')
      if (swap < l.memoryBytes!) {
        throw usageError(`--memory-swap ${req.memorySwap} is below --memory ${req.memory}`, '--memory-swap is memory plus swap: make it at least --memory (equal means no swap), or -1 for unlimited swap')
      }
      l.memorySwapBytes = swap
    }
  }
  if (req.cpus !== undefined) l.cpus = parseCpus(text(req.cpus))
  if (req.cpuShares !== undefined) l.cpuShares = integer(text(req.cpuShares), '--cpu-shares', 2, 262144, 'give a relative weight from 2 to 262144; 1024 is the default')
  if (req.cpusetCpus !== undefined) l.cpusetCpus = parseCpuList(req.cpusetCpus)
  if (req.pidsLimit !== undefined) {
    const v = text(req.pidsLimit).trim()
    l.pids = v === '-1' || v === 'unlimited' ? null : integer(v, '--pids-limit', 1, 4194304, 'give the most processes and threads at once, e.g. --pids-limit 100, or -1 for no limit')
  }
  if (req.blkioWeight !== undefined) l.blkioWeight = integer(text(req.blkioWeight), '--blkio-weight', 10, 1000, 'give a relative weight from 10 to 1000')
  const throttles: Array<[string[] | undefined, string, ThrottleKind]> = [
    [req.deviceReadBps, '--device-read-bps', 'rbps'],
    [req.deviceWriteBps, '--device-write-bps', 'wbps'],
    [req.deviceReadIops, '--device-read-iops', 'riops'],
    [req.deviceWriteIops, '--device-write-iops', 'wiops'],
  ]
  for (const [values, flag, kind] of throttles) for (const v of values ?? []) l.deviceThrottle.push(parseThrottle(v, flag, kind))
  if (req.cpuTime !== undefined) {
    l.cpuTimeMs = durationOf(req.cpuTime, '--cpu-time')
    if (l.cpuTimeMs < 1) throw usageError(`invalid --cpu-time "${req.cpuTime}": it must be more than 0`, 'give CPU time for all processes together, e.g. --cpu-time 10s')
  }
  if (req.outputLimit !== undefined) l.outputBytes = sizeOf(req.outputLimit, '--output-limit', 1)
  return l
}

const nullable = (s: object) => ({anyOf: [s, {type: 'null'}]})

/** The `limits` part of the sandbox spec's schema (spec.ts). */
export const LIMITS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['memoryBytes', 'memorySwapBytes', 'cpus', 'cpuShares', 'cpusetCpus', 'pids', 'blkioWeight', 'deviceThrottle', 'cpuTimeMs', 'outputBytes'],
  properties: {
    memoryBytes: nullable({type: 'integer', minimum: MIN_MEMORY, maximum: 2 ** 50}),
    memorySwapBytes: nullable({anyOf: [{type: 'integer', minimum: MIN_MEMORY, maximum: 2 ** 50}, {const: -1}]}),
    cpus: nullable({type: 'number', minimum: 0.01, maximum: 4096}),
    cpuShares: nullable({type: 'integer', minimum: 2, maximum: 262144}),
    cpusetCpus: nullable({type: 'string', pattern: '^\\d+(-\\d+)?(,\\d+(-\\d+)?)*$', maxLength: 1024}),
    pids: nullable({type: 'integer', minimum: 1, maximum: 4194304}),
    blkioWeight: nullable({type: 'integer', minimum: 10, maximum: 1000}),
    deviceThrottle: {
      type: 'array',
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['path', 'major', 'minor', 'kind', 'rate'],
        properties: {
          path: {type: 'string', pattern: '^/[^\\u0000]*$', maxLength: 4096},
          major: {type: 'integer', minimum: 0, maximum: 4095},
          minor: {type: 'integer', minimum: 0, maximum: 1048575},
          kind: {enum: ['rbps', 'wbps', 'riops', 'wiops']},
          rate: {type: 'integer', minimum: 1, maximum: 2 ** 50},
        },
      },
    },
    cpuTimeMs: nullable({type: 'integer', minimum: 1, maximum: 2 ** 40}),
    outputBytes: nullable({type: 'integer', minimum: 1, maximum: 2 ** 50}),
  },
} as const
