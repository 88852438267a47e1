/**
 * The sandbox spec: the one contract between every front end (CLI flags, a lab step,
 * a CI step, a grading run) and the engine. It is validated against SANDBOX_SPEC_SCHEMA
 * (compiled ahead of time, see scripts/build.mjs) and by the named checks in
 * validate.ts before anything runs; plan.ts turns it into the helper's operations.
 */

import type {BridgeSpec} from './networks.js'
import type {PastaSpec} from './pasta.js'
import {LIMITS_SCHEMA, type Limits} from './limits.js'

export type NetworkMode = 'none' | 'host' | 'bridge' | 'pasta'

export interface BindMount {
  type: 'bind'
  /** canonical host path (no symlinks), resolved by volumes.ts */
  source: string
  destination: string
  readOnly: boolean
  /** a directory whose host path /proc/self/mountinfo must not show: mounted as an overlay's
   * layer (read-only: a lower; writable, idmapped runs only: the only upper, whose sibling
   * .NAME.work the caller made) */
  hide?: boolean
}

export interface TmpfsMount {
  type: 'tmpfs'
  destination: string
  sizeBytes: number
  mode: number
  readOnly: boolean
  noexec: boolean
}

export type Mount = BindMount | TmpfsMount

export interface Rlimit {
  name: string
  soft: number | 'unlimited'
  hard: number | 'unlimited'
}

export interface SandboxSpec {
  version: 1
  id: string
  name: string
  hostname: string
  process: {
    args: string[]
    env: Record<string, string>
    cwd: string
    user: {uid: number; gid: number; groups: number[]}
    /** capabilities kept (Docker names without CAP_); empty by default */
    capabilities: string[]
    rlimits: Rlimit[]
    /** run a reaping init as PID 1 */
    init: boolean
  }
  root: {
    /** host: the host's system directories, read-only; dir: a prepared root directory;
     * image: an overlay of an image's layers (src/images/overlay.ts) */
    type: 'host' | 'dir' | 'image'
    path?: string
    readOnly: boolean
    /** cap on the writable layer (and on the root skeleton) */
    sizeBytes: number
    /** image: the store's unpacked layer directories, bottom first */
    layers?: string[]
    /** image: a host directory kept as the upper layer, with its work directory beside it
     * (same parent); absent: the upper is on the scratch tmpfs and goes with the sandbox */
    upper?: string
    work?: string
    /** image: what it was started from (id: the config's digest) and the entrypoint the
     * command begins with (what commit keeps apart from Cmd); user: a -u given at run time
     * (Docker's Config.User of the container, which commit keeps) */
    image?: {id: string; ref: string; entrypoint: string[]; user?: string}
  }
  mounts: Mount[]
  /** private (default): own user namespace, root inside is a distinct unprivileged host
   * id; host: share the host's ids (visible opt-out) */
  userns?: 'private' | 'host'
  network: NetworkMode
  /** network 'bridge': the attachments, published ports and resolver (networks.ts) */
  bridge?: BridgeSpec
  /** network 'pasta' (rootless): what pasta publishes and the resolver (pasta.ts) */
  pasta?: PastaSpec
  /** extra /etc/hosts lines: name → address */
  extraHosts: Array<{host: string; address: string}>
  /** wall-clock limit in milliseconds; 0 means none */
  timeoutMs: number
  /** path of the compiled seccomp filter, or null for unconfined */
  seccomp: {profile: string; bpfPath: string | null; restrictSetid?: boolean}
  maskedPaths: string[]
  readonlyPaths: string[]
  /** resource limits (limits.ts); build-spec.ts always sets it, a spec without it gets DEFAULT_LIMITS */
  limits?: Limits
  /** namespaces shared with other sandboxes (ids) or, for ipc, the host; absent: all private */
  share?: {network?: string; ipc?: string; pid?: string}
}

const absPath = {
  type: 'string',
  minLength: 1,
  maxLength: 4096,
  // absolute, normalised: no empty, "." or ".." components, no trailing slash (but "/")
  pattern: '^(/|(/(?!\\.{1,2}(/|$))[^/\\u0000]+)+)$',
} as const

const IPV4 = {type: 'string', pattern: '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'} as const
/** an IPv6 address's text (checked in full where it is made: src/network/cidr6.ts) */
const IPV6 = {type: 'string', pattern: '^[0-9a-f:]{2,39}$'} as const

/** A sandbox's resolver configuration (resolv.conf), on a bridge or with pasta. */
const DNS_CONFIG = {
  type: 'object',
  additionalProperties: false,
  required: ['servers', 'search', 'options'],
  properties: {
    servers: {type: 'array', maxItems: 8, items: {type: 'string', pattern: '^[0-9a-fA-F:.]{2,45}$'}},
    search: {type: 'array', maxItems: 8, items: {type: 'string', pattern: '^[a-zA-Z0-9.-]{1,253}$'}},
    options: {type: 'array', maxItems: 8, items: {type: 'string', pattern: '^[a-z0-9_:-]{1,64}$'}},
  },
} as const

/** Published ports: the host's address and port, the sandbox's port and the protocol. */
function publishedPorts<H>(maxItems: number, hostIp: H) {
  return {
    type: 'array',
    maxItems,
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['hostIp', 'hostPort', 'port', 'proto'],
      properties: {
        hostIp,
        hostPort: {type: 'integer', minimum: 1, maximum: 65535},
        port: {type: 'integer', minimum: 1, maximum: 65535},
        proto: {enum: ['tcp', 'udp']},
      },
    },
  } as const
}
const size = {type: 'integer', minimum: 0, maximum: 2 ** 50} as const
const rlimValue = {anyOf: [{type: 'integer', minimum: 0, maximum: 2 ** 53 - 1}, {const: 'unlimited'}]} as const

export const SANDBOX_SPEC_SCHEMA = {
  $id: 'https://lab.dev/schemas/sandbox-spec.json',
  title: 'lab sandbox spec',
  description: 'One validated description of a sandbox; the only input of the engine.',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'id', 'name', 'hostname', 'process', 'root', 'mounts', 'network', 'extraHosts', 'timeoutMs', 'seccomp', 'maskedPaths', 'readonlyPaths'],
  properties: {
    version: {const: 1},
    id: {type: 'string', pattern: '^[0-9a-f]{64}$'},
    name: {type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$'},
    hostname: {type: 'string', pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$', maxLength: 64},
    process: {
      type: 'object',
      additionalProperties: false,
      required: ['args', 'env', 'cwd', 'user', 'capabilities', 'rlimits', 'init'],
      properties: {
        args: {type: 'array', minItems: 1, maxItems: 4096, items: {type: 'string', maxLength: 131072, pattern: '^[^\\u0000]*$'}},
        env: {
          type: 'object',
          maxProperties: 4096,
          propertyNames: {pattern: '^[^=\\u0000]+$', maxLength: 1024},
          additionalProperties: {type: 'string', maxLength: 131072, pattern: '^[^\\u0000]*$'},
        },
        cwd: absPath,
        user: {
          type: 'object',
          additionalProperties: false,
          required: ['uid', 'gid', 'groups'],
          properties: {
            uid: {type: 'integer', minimum: 0, maximum: 4294967294},
            gid: {type: 'integer', minimum: 0, maximum: 4294967294},
            groups: {type: 'array', maxItems: 64, items: {type: 'integer', minimum: 0, maximum: 4294967294}},
          },
        },
        capabilities: {type: 'array', uniqueItems: true, items: {type: 'string', pattern: '^[A-Z_]+$'}},
        rlimits: {
          type: 'array',
          maxItems: 16,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'soft', 'hard'],
            properties: {
              name: {enum: ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']},
              soft: rlimValue,
              hard: rlimValue,
            },
          },
        },
        init: {type: 'boolean'},
      },
    },
    root: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'readOnly', 'sizeBytes'],
      properties: {
        type: {enum: ['host', 'dir', 'image']},
        path: absPath,
        readOnly: {type: 'boolean'},
        sizeBytes: {type: 'integer', minimum: 1 << 20, maximum: 2 ** 50},
        layers: {type: 'array', minItems: 1, maxItems: 128, items: absPath},
        upper: absPath,
        work: absPath,
        image: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'ref', 'entrypoint'],
          properties: {
            id: {type: 'string', pattern: '^sha256:[0-9a-f]{64}$'},
            ref: {type: 'string', minLength: 1, maxLength: 512},
            entrypoint: {type: 'array', maxItems: 4096, items: {type: 'string', maxLength: 131072}},
            user: {type: 'string', minLength: 1, maxLength: 512},
          },
        },
      },
    },
    mounts: {
      type: 'array',
      maxItems: 256,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'source', 'destination', 'readOnly'],
            properties: {type: {const: 'bind'}, source: absPath, destination: absPath, readOnly: {type: 'boolean'}, hide: {type: 'boolean'}},
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'destination', 'sizeBytes', 'mode', 'readOnly', 'noexec'],
            properties: {
              type: {const: 'tmpfs'},
              destination: absPath,
              sizeBytes: {type: 'integer', minimum: 4096, maximum: 2 ** 50},
              mode: {type: 'integer', minimum: 0, maximum: 0o7777},
              readOnly: {type: 'boolean'},
              noexec: {type: 'boolean'},
            },
          },
        ],
      },
    },
    userns: {enum: ['private', 'host']},
    network: {enum: ['none', 'host', 'bridge', 'pasta']},
    bridge: {
      type: 'object',
      additionalProperties: false,
      required: ['networks', 'ports', 'dns'],
      properties: {
        networks: {
          type: 'array',
          minItems: 1,
          maxItems: 8,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['network', 'networkId', 'bridge', 'address', 'prefix', 'gateway', 'mtu', 'aliases'],
            properties: {
              network: {type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$'},
              networkId: {type: 'string', pattern: '^[0-9a-f]{64}$'},
              bridge: {type: 'string', pattern: '^[a-zA-Z0-9_-]{1,15}$'},
              address: IPV4,
              prefix: {type: 'integer', minimum: 1, maximum: 30},
              gateway: {anyOf: [IPV4, {type: 'null'}]},
              // IPv6 networks (src/network/cidr6.ts prints them canonical)
              address6: IPV6,
              prefix6: {type: 'integer', minimum: 48, maximum: 120},
              gateway6: {anyOf: [IPV6, {type: 'null'}]},
              mtu: {type: 'integer', minimum: 576, maximum: 65535},
              aliases: {type: 'array', maxItems: 64, items: {type: 'string', pattern: '^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,252})$'}},
            },
          },
        },
        ports: publishedPorts(4096, {anyOf: [IPV4, IPV6]}),
        dns: DNS_CONFIG,
      },
    },
    // rootless user-mode networking (pasta.ts): IPv4 published ports, as pasta's -t/-u
    pasta: {
      type: 'object',
      additionalProperties: false,
      required: ['mapGateway', 'ports', 'dns'],
      properties: {
        mapGateway: {type: 'boolean'},
        ports: publishedPorts(64, IPV4),
        dns: DNS_CONFIG,
      },
    },
    extraHosts: {
      type: 'array',
      maxItems: 256,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'address'],
        properties: {host: {type: 'string', pattern: '^[a-zA-Z0-9.-]{1,253}$'}, address: {type: 'string', pattern: '^[0-9a-fA-F:.]{2,45}$'}},
      },
    },
    timeoutMs: {type: 'integer', minimum: 0, maximum: 2 ** 40},
    seccomp: {
      type: 'object',
      additionalProperties: false,
      required: ['profile', 'bpfPath'],
      properties: {profile: {type: 'string', minLength: 1}, bpfPath: {anyOf: [absPath, {type: 'null'}]}, restrictSetid: {type: 'boolean'}},
    },
    maskedPaths: {type: 'array', items: absPath},
    readonlyPaths: {type: 'array', items: absPath},
    limits: LIMITS_SCHEMA,
    share: {
      type: 'object',
      additionalProperties: false,
      properties: {
        network: {type: 'string', pattern: '^[0-9a-f]{64}$'},
        ipc: {type: 'string', pattern: '^([0-9a-f]{64}|host)$'},
        pid: {type: 'string', pattern: '^[0-9a-f]{64}$'},
      },
    },
  },
} as const

export {size as SIZE_SCHEMA}
