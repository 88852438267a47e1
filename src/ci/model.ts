/** The pipeline as the runner sees it: a loaded, checked lab pipeline or GitHub workflow. */
import type {Combination} from './matrix.js'
import type {CalleeInfo, CallInfo} from './reusable.js'
import type {ArtifactFile, CacheFile, ContainerFile, EnvMap, ServiceFile} from './schema.js'

export interface StepDef {
  /** 0-based position in the job */
  index: number
  id?: string
  name: string
  run?: string
  /** a `uses:` step: actions/checkout maps to the workspace; any other is unsupported */
  uses?: string
  env: EnvMap
  shell?: string
  workingDirectory?: string
  /** a number, or an expression evaluated when the step starts */
  timeoutMinutes?: number | string
  continueOnError: boolean | string
  if?: string | boolean
  with?: Record<string, unknown>
}

export interface JobDef {
  id: string
  name?: string
  needs: string[]
  if?: string | boolean
  env: EnvMap
  /** null: no matrix; otherwise one run of the job per combination */
  matrix: Combination[] | null
  /** a matrix given by expressions (the whole of it or an axis): expanded when the job starts */
  matrixSource?: unknown
  /** runs-on as written: Windows and macOS jobs are skipped */
  runsOn?: unknown
  /** GitHub token permissions as written: accepted and reported (no token exists offline) */
  permissions?: unknown
  failFast: boolean
  maxParallel?: number
  container: ContainerFile
  workspace: 'copy' | 'write'
  services: Record<string, ServiceFile>
  steps: StepDef[]
  artifacts: ArtifactFile[]
  caches: CacheFile[]
  timeoutMinutes?: number | string
  continueOnError: boolean | string
  defaults: {shell?: string; workingDirectory?: string}
  outputs: Record<string, string>
  /** a job of a called reusable workflow: how its caller calls it */
  call?: CallInfo
  /** a job that calls a reusable workflow: no steps; its result is the called jobs' */
  callee?: CalleeInfo
  /** one leg of a matrix call of a reusable workflow: its matrix context */
  callMatrix?: Record<string, unknown>
}

export interface Pipeline {
  /** the file as given */
  file: string
  kind: 'lab' | 'github'
  name: string
  /** the repository: mounted into every step */
  workspace: string
  env: EnvMap
  jobs: Record<string, JobDef>
  /** problems that do not stop the run (unsupported uses: steps…) */
  warnings: string[]
  /** the workflow's on: as written */
  on?: unknown
  /** the workflow's permissions: as written */
  permissions?: unknown
}
