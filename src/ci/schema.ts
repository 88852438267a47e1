/**
 * The pipeline file (.lab/ci.yml): keys that feel familiar from GitHub Actions, plus
 * the sandbox settings (container), services with a readiness check, artifacts and
 * caches. A GitHub Actions workflow validates against the same schema: its keys that
 * only matter on GitHub (on, runs-on, permissions…) are accepted and ignored, and
 * `uses:` steps are reported as unsupported (github.ts). Published as schemas/ci.schema.json.
 */

export type EnvMap = Record<string, string | number | boolean>

export interface ContainerFile {
  /** an image of lab's store (lab image pull/load): the steps' root, as GitHub's container: image */
  image?: string
  /** GitHub: environment variables of the container */
  env?: EnvMap
  /** GitHub: docker create options; accepted and ignored with a warning */
  options?: string
  /** a prepared root directory of the workspace */
  rootfs?: string
  /** memory limit, Docker's syntax: 512m, 1g */
  memory?: string
  cpus?: number
  'pids-limit'?: number
  /** seccomp profile name (default, strict) or file, or unconfined */
  seccomp?: string
  network?: 'none' | 'host'
  'cap-add'?: string[]
  'cap-drop'?: string[]
  /** a writable root layer, discarded after each step */
  'read-only'?: boolean
  'output-limit'?: string
  /** --ulimit NAME=SOFT[:HARD] */
  ulimits?: string[]
}

export interface StepFile {
  id?: string
  name?: string
  run?: string
  uses?: string
  with?: Record<string, unknown>
  env?: EnvMap
  shell?: string
  'working-directory'?: string
  'timeout-minutes'?: number | string
  'continue-on-error'?: boolean | string
  if?: string | boolean
}

export interface ServiceFile {
  /** the command that runs the service, in sh -c (with image: instead of the image's command) */
  run?: string
  /** GitHub: an image of lab's store the service runs (its entrypoint and command unless run: is given) */
  image?: string
  /** GitHub: CONTAINER_PORT or HOST:CONTAINER; the first port is waited for (services share the job's network) */
  ports?: Array<string | number>
  /** GitHub: docker options; --health-cmd is the readiness command, the rest is ignored */
  options?: string
  env?: EnvMap
  'working-directory'?: string
  ready?: {port?: number; run?: string; 'timeout-seconds'?: number}
  container?: ContainerFile
}

export interface ArtifactFile {
  name?: string
  paths: string[]
  'max-size'?: string
  when?: 'always' | 'success' | 'failure'
}

export interface CacheFile {
  /** part of the key; ${{ }} expressions allowed */
  key: string
  /** files whose contents are hashed into the key (workspace-relative) */
  files?: string[]
  /** directories (workspace-relative) that are restored and saved */
  paths: string[]
  /** copy (default): restored as a writable copy; read-only: bound read-only */
  mode?: 'copy' | 'read-only'
  'max-size'?: string
}

export interface MatrixFile {
  include?: Array<Record<string, unknown>>
  exclude?: Array<Record<string, unknown>>
  [axis: string]: unknown
}

export interface JobFile {
  name?: string
  needs?: string | string[]
  if?: string | boolean
  env?: EnvMap
  strategy?: {matrix?: MatrixFile | string; 'fail-fast'?: boolean; 'max-parallel'?: number}
  container?: ContainerFile | string
  /** copy (default): a private copy-on-write view of the checkout; write: the checkout itself */
  workspace?: 'copy' | 'write'
  services?: Record<string, ServiceFile>
  /** absent only in a job that calls a reusable workflow (uses:) */
  steps: StepFile[]
  uses?: string
  with?: Record<string, string | number | boolean>
  secrets?: 'inherit' | Record<string, string>
  artifacts?: ArtifactFile | ArtifactFile[]
  cache?: CacheFile | CacheFile[]
  'timeout-minutes'?: number | string
  'continue-on-error'?: boolean | string
  defaults?: {run?: {shell?: string; 'working-directory'?: string}}
  // GitHub-only keys, accepted and ignored
  'runs-on'?: unknown
  permissions?: unknown
  outputs?: Record<string, string>
  environment?: unknown
  concurrency?: unknown
}

export interface PipelineFile {
  name?: string
  'run-name'?: string
  env?: EnvMap
  defaults?: {run?: {shell?: string; 'working-directory'?: string}}
  container?: ContainerFile
  jobs: Record<string, JobFile>
  on?: unknown
  permissions?: unknown
  concurrency?: unknown
}

const ID = '^[A-Za-z_][A-Za-z0-9_-]{0,99}$'
const envMap = {
  type: 'object',
  maxProperties: 1000,
  propertyNames: {pattern: '^[A-Za-z_][A-Za-z0-9_]*$'},
  additionalProperties: {type: ['string', 'number', 'boolean']},
} as const
const condition = {type: ['string', 'boolean']} as const
const size = {type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$'} as const
const relPath = {type: 'string', minLength: 1, maxLength: 4096} as const
const minutes = {type: 'number', exclusiveMinimum: 0, maximum: 360 * 24} as const
const defaults = {
  type: 'object',
  additionalProperties: false,
  properties: {
    run: {
      type: 'object',
      additionalProperties: false,
      properties: {shell: {type: 'string'}, 'working-directory': relPath},
    },
  },
} as const

const container = {
  type: 'object',
  additionalProperties: false,
  description: 'Sandbox settings for every step of the job (and of the pipeline at the top level).',
  properties: {
    image: {type: 'string', minLength: 1, maxLength: 512, description: 'an image of lab\'s store (lab image pull, lab image load) the steps run on, as GitHub\'s container: image; never pulled by lab ci'},
    env: envMap,
    options: {type: 'string', description: 'GitHub: docker create options; accepted, not applied'},
    rootfs: {type: 'string', minLength: 1, description: 'a prepared root directory of the workspace instead of the host system directories'},
    memory: size,
    cpus: {type: 'number', exclusiveMinimum: 0, maximum: 1024},
    'pids-limit': {type: 'integer', minimum: 1, maximum: 4194304},
    seccomp: {type: 'string', minLength: 1, description: 'default, strict, a profile file, or unconfined'},
    network: {enum: ['none', 'host'], description: 'none (default): loopback only (shared with the job\'s services)'},
    'cap-add': {type: 'array', items: {type: 'string', pattern: '^[A-Za-z_]+$'}},
    'cap-drop': {type: 'array', items: {type: 'string', pattern: '^[A-Za-z_]+$'}},
    'read-only': {type: 'boolean', description: 'false: a writable root layer, discarded after each step'},
    'output-limit': size,
    ulimits: {type: 'array', items: {type: 'string'}},
  },
} as const

const step = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: {type: 'string', pattern: ID},
    name: {type: 'string', maxLength: 200},
    run: {type: 'string', minLength: 1},
    uses: {type: 'string', minLength: 1},
    with: {type: 'object'},
    env: envMap,
    shell: {type: 'string'},
    'working-directory': relPath,
    'timeout-minutes': {anyOf: [minutes, {type: 'string', pattern: '\\$\\{\\{'}]},
    'continue-on-error': {type: ['boolean', 'string']},
    if: condition,
  },
  oneOf: [{required: ['run']}, {required: ['uses']}],
} as const

const service = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{required: ['run']}, {required: ['image']}],
  properties: {
    run: {type: 'string', minLength: 1, description: 'the command that runs the service (sh -c); it must keep running'},
    image: {type: 'string', minLength: 1, maxLength: 512, description: 'GitHub: an image of lab\'s store the service runs (never pulled by lab ci)'},
    ports: {type: 'array', maxItems: 32, items: {type: ['string', 'integer'], pattern: '^([0-9]{1,5}:)?[0-9]{1,5}(/tcp)?$'}},
    options: {type: 'string', maxLength: 4096, description: 'GitHub: docker options; --health-cmd is the readiness command'},
    env: envMap,
    'working-directory': relPath,
    ready: {
      type: 'object',
      additionalProperties: false,
      description: 'steps start once the service listens on this TCP port, or once this command succeeds in its network',
      properties: {
        port: {type: 'integer', minimum: 1, maximum: 65535},
        run: {type: 'string', minLength: 1},
        'timeout-seconds': {type: 'number', exclusiveMinimum: 0, maximum: 3600},
      },
    },
    container,
  },
} as const

const artifact = {
  type: 'object',
  additionalProperties: false,
  required: ['paths'],
  properties: {
    name: {type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$'},
    paths: {type: 'array', minItems: 1, items: relPath},
    'max-size': size,
    when: {enum: ['always', 'success', 'failure']},
  },
} as const

const cache = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'paths'],
  properties: {
    key: {type: 'string', minLength: 1, maxLength: 200},
    files: {type: 'array', items: relPath},
    paths: {type: 'array', minItems: 1, items: relPath},
    mode: {enum: ['copy', 'read-only']},
    'max-size': size,
  },
} as const

const job = {
  type: 'object',
  additionalProperties: false,
  description: 'A job: steps, or (GitHub) uses: a reusable workflow of the repository with with: and secrets:.',
  properties: {
    name: {type: 'string', maxLength: 200},
    needs: {anyOf: [{type: 'string', pattern: ID}, {type: 'array', items: {type: 'string', pattern: ID}}]},
    if: condition,
    env: envMap,
    strategy: {
      type: 'object',
      additionalProperties: false,
      properties: {
        matrix: {anyOf: [{type: 'object'}, {type: 'string'}]},
        'fail-fast': {type: 'boolean'},
        'max-parallel': {type: 'integer', minimum: 1},
      },
    },
    container: {anyOf: [container, {type: 'string', minLength: 1, description: 'GitHub: the image the steps run on (container: {image: …})'}]},
    workspace: {enum: ['copy', 'write'], description: 'copy (default): steps cannot change the checkout; write: they work on it directly'},
    services: {type: 'object', propertyNames: {pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'}, additionalProperties: service},
    steps: {type: 'array', minItems: 1, items: step},
    uses: {type: 'string', minLength: 1, description: 'a reusable workflow: ./.github/workflows/NAME.yml'},
    with: {type: 'object', additionalProperties: {type: ['string', 'number', 'boolean']}},
    secrets: {anyOf: [{const: 'inherit'}, {type: 'object', additionalProperties: {type: 'string'}}]},
    artifacts: {anyOf: [artifact, {type: 'array', items: artifact}]},
    cache: {anyOf: [cache, {type: 'array', items: cache}]},
    'timeout-minutes': {anyOf: [minutes, {type: 'string', pattern: '\\$\\{\\{'}]},
    'continue-on-error': {type: ['boolean', 'string']},
    defaults,
    'runs-on': {},
    permissions: {},
    outputs: {type: 'object', additionalProperties: {type: 'string'}},
    environment: {},
    concurrency: {},
  },
} as const

export const CI_SCHEMA = {
  $id: 'https://lab.dev/schemas/ci.json',
  title: 'lab ci pipeline',
  description: 'A CI pipeline run step by step in hardened sandboxes (also a GitHub Actions workflow\'s run: steps).',
  type: 'object',
  additionalProperties: false,
  required: ['jobs'],
  properties: {
    name: {type: 'string'},
    'run-name': {type: 'string'},
    env: envMap,
    defaults,
    container,
    jobs: {type: 'object', minProperties: 1, propertyNames: {pattern: ID}, additionalProperties: job},
    on: {},
    permissions: {},
    concurrency: {},
  },
} as const
