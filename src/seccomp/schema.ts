/**
 * Docker's seccomp profile format, as JSON Schema: everything Docker (moby's
 * profiles/seccomp types, runc's conversion) accepts is accepted here — `args: null`,
 * missing keys, the legacy single `name`, old arch spellings (amd64, x32), unknown
 * extra keys (Go's JSON decoder ignores them; `lab profile lint` warns) — and every
 * wrong type, unknown action or operator, or argument index above 5 is reported with
 * its JSON path. Meaning checks that a schema cannot express live in load.ts.
 */

export const ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
] as const
export type ProfileAction = (typeof ACTIONS)[number]

export const OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const
export type ProfileOperator = (typeof OPERATORS)[number]

/** libseccomp's arch names, by every spelling Docker profiles use. */
export const ARCH_ALIASES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86', x86: 'x86', i386: 'x86', '386': 'x86',
  SCMP_ARCH_X86_64: 'x86_64', x86_64: 'x86_64', amd64: 'x86_64',
  SCMP_ARCH_X32: 'x32', x32: 'x32',
  SCMP_ARCH_ARM: 'arm', arm: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64', aarch64: 'aarch64', arm64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips', mips: 'mips', SCMP_ARCH_MIPS64: 'mips64', mips64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32', mips64n32: 'mips64n32', SCMP_ARCH_MIPSEL: 'mipsel', mipsel: 'mipsel', mipsle: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64', mipsel64: 'mipsel64', mips64le: 'mipsel64', SCMP_ARCH_MIPSEL64N32: 'mipsel64n32', mipsel64n32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc', ppc: 'ppc', SCMP_ARCH_PPC64: 'ppc64', ppc64: 'ppc64', SCMP_ARCH_PPC64LE: 'ppc64le', ppc64le: 'ppc64le',
  SCMP_ARCH_S390: 's390', s390: 's390', SCMP_ARCH_S390X: 's390x', s390x: 's390x',
  SCMP_ARCH_PARISC: 'parisc', parisc: 'parisc', SCMP_ARCH_PARISC64: 'parisc64', parisc64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64', riscv64: 'riscv64', SCMP_ARCH_LOONGARCH64: 'loongarch64', loong64: 'loongarch64', loongarch64: 'loongarch64',
}

export const FILTER_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] as const

export interface ProfileArg {
  index?: number
  /** numbers above 2^53 are kept as decimal strings so that no bit is lost */
  value?: number | string
  valueTwo?: number | string
  op?: ProfileOperator
}

export interface ProfileFilter {
  caps?: string[] | null
  arches?: string[] | null
  minKernel?: string | null
}

export interface ProfileSyscall {
  names?: string[] | null
  name?: string
  action: ProfileAction
  errnoRet?: number | null
  args?: ProfileArg[] | null
  comment?: string
  includes?: ProfileFilter | null
  excludes?: ProfileFilter | null
}

export interface SeccompProfile {
  /** ours (Docker ignores both): how `lab profile list` shows the profile */
  name?: string
  description?: string
  defaultAction: ProfileAction
  defaultErrnoRet?: number | null
  architectures?: string[] | null
  archMap?: Array<{architecture: string; subArchitectures?: string[] | null}> | null
  flags?: string[] | null
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: ProfileSyscall[] | null
  [extra: string]: unknown
}

const nullable = (s: object) => ({anyOf: [s, {type: 'null'}]})
const u64 = {
  anyOf: [
    {type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER},
    // written by load.ts for literals above 2^53; checked against 2^64-1 there
    {type: 'string', pattern: '^[0-9]{1,20}$'},
  ],
}
const archName = {type: 'string', enum: Object.keys(ARCH_ALIASES)}
const filter = nullable({
  type: 'object',
  properties: {
    caps: nullable({type: 'array', items: {type: 'string', pattern: '^(CAP_)?[A-Z_]+$'}}),
    arches: nullable({type: 'array', items: {type: 'string', minLength: 1, maxLength: 32}}),
    minKernel: nullable({type: 'string', pattern: '^([0-9]+\\.[0-9]+)?$'}),
  },
})

export const SECCOMP_PROFILE_SCHEMA = {
  $id: 'https://lab.dev/schemas/seccomp-profile.json',
  title: 'seccomp profile (Docker format)',
  description: 'A seccomp profile in the format Docker, Podman and runc read, plus an optional name and description.',
  type: 'object',
  required: ['defaultAction'],
  properties: {
    name: {type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$'},
    description: {type: 'string', maxLength: 1000},
    defaultAction: {enum: ACTIONS},
    defaultErrnoRet: nullable({type: 'integer', minimum: 0, maximum: 65535}),
    architectures: nullable({type: 'array', maxItems: 32, items: archName}),
    archMap: nullable({
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        required: ['architecture'],
        properties: {architecture: archName, subArchitectures: nullable({type: 'array', maxItems: 32, items: archName})},
      },
    }),
    flags: nullable({type: 'array', items: {enum: FILTER_FLAGS}}),
    listenerPath: {type: 'string'},
    listenerMetadata: {type: 'string'},
    syscalls: nullable({
      type: 'array',
      maxItems: 20000,
      items: {
        type: 'object',
        required: ['action'],
        properties: {
          names: nullable({type: 'array', maxItems: 2000, items: {type: 'string', pattern: '^[a-z0-9_]{1,64}$'}}),
          name: {type: 'string', pattern: '^[a-z0-9_]{1,64}$'},
          action: {enum: ACTIONS},
          errnoRet: nullable({type: 'integer', minimum: 0, maximum: 65535}),
          args: nullable({
            type: 'array',
            maxItems: 6,
            items: {
              type: 'object',
              required: ['op'],
              properties: {
                index: {type: 'integer', minimum: 0, maximum: 5},
                value: u64,
                valueTwo: u64,
                op: {enum: OPERATORS},
              },
            },
          }),
          comment: {type: 'string'},
          includes: filter,
          excludes: filter,
        },
      },
    }),
  },
} as const
