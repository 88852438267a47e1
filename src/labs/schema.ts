/**
 * The lab format: labs/<id>/lab.yaml. The schema is compiled ahead of time (see
 * scripts/build.mjs) and published as schemas/lab.schema.json so editors complete it;
 * every field says what it is for and its default. Meaning the schema cannot express
 * (references between steps, safe fixture paths) is checked in load.ts.
 */
import {RELATIVE_PATH} from '../schemas/fragments.js'

export type TextMatch = {equals?: string; contains?: string; notContains?: string; matches?: string}

export interface RunAction {
  /** `lab sandbox run` arguments (a handlebars template), e.g. `-v {{work}}/docs:/srv:ro -- ls /srv` */
  run?: string
  /** a file in the work directory holding one `lab sandbox run …` command (the student's answer) */
  runFile?: string
  /** create a directory in the work directory (host side) */
  mkdir?: string
  /** lifecycle actions on a sandbox the lab started (names are the lab's short names) */
  exec?: {sandbox: string; command: string; user?: string}
  stop?: {sandbox: string; timeout?: number}
  kill?: {sandbox: string; signal?: string}
  rm?: {sandbox: string; force?: boolean; volumes?: boolean}
  logs?: {sandbox: string; tail?: number}
  wait?: {sandbox: string; until?: 'exited' | 'running' | 'log' | 'restarts'; log?: string; restarts?: number; timeout?: string}
  top?: {sandbox: string}
  stats?: {sandbox: string}
  volumeCreate?: string
  volumeRm?: string
  profileDiff?: {from: string; to: string; cap?: string[]}
  /** a `lab` verb (verbs.ts), e.g. `image import base.tar course/base:1.0` */
  command?: string
  /** a file in the work directory holding one `lab …` command (the student's answer) */
  commandFile?: string
  archive?: {to: string; busybox?: string[]; files?: Record<string, string>; dirs?: string[]}
  as?: string
  input?: string
  show?: boolean
}
export type Action = RunAction

export interface Check {
  name: string
  hint?: string
  of?: string
  exitCode?: number | {not: number}
  verdict?: string
  stdout?: TextMatch
  stderr?: TextMatch
  fails?: {errno: string}
  file?: {path: string; exists?: boolean; hostUid?: {not: number}} & TextMatch
  peakMemory?: {below: string}
  wallRatio?: {slow: string; fast: string; atLeast: number}
  state?: {sandbox: string; status?: string; exitCode?: number; restartCount?: number; oomKilled?: boolean}
  volume?: {name: string; exists?: boolean; path?: string} & TextMatch
  error?: TextMatch
  measure?: {metric: string; below?: number; atLeast?: number}
  userns?: {mapped: boolean}
}

export interface Step {
  id: string
  title: string
  summary?: string
  read?: string
  requires?: Feature[]
  actions?: Action[]
  exercise?: {file: string; task: string}
  checks?: Check[]
}

export interface LabFile {
  id: string
  title: string
  chapter: string
  source: string
  estimatedMinutes: number
  intro?: string
  writable?: string[]
  steps: Step[]
}

/** The engine features a step can need; features.ts probes whether the engine has them. */
export const FEATURES = ['lifecycle', 'named-volumes', 'limits', 'seccomp-profiles', 'userns', 'joined-namespaces', 'io-limits', 'images', 'static-busybox', 'registry', 'bridged-networks'] as const
export type Feature = (typeof FEATURES)[number]

export const CHECK_KINDS = ['exitCode', 'verdict', 'stdout', 'stderr', 'fails', 'file', 'peakMemory', 'wallRatio', 'state', 'volume', 'error', 'measure', 'userns'] as const
export const ACTION_KINDS = ['run', 'runFile', 'mkdir', 'exec', 'stop', 'kill', 'rm', 'logs', 'wait', 'top', 'stats', 'volumeCreate', 'volumeRm', 'profileDiff', 'command', 'commandFile', 'archive'] as const
/** Action kinds that act on a sandbox the lab started, named by `sandbox`. */
export const SANDBOX_ACTIONS = ['exec', 'stop', 'kill', 'rm', 'logs', 'wait', 'top', 'stats'] as const
/** Action kinds whose outcome checks can look at (`of`, the step's last result). */
export const RESULT_ACTIONS = ['run', 'runFile', 'exec', 'stop', 'rm', 'logs', 'wait', 'top', 'stats', 'profileDiff', 'command', 'commandFile'] as const
/** The numbers a `measure` check can compare: from a run's result, a wait, or a stats sample. */
export const METRICS = ['wallMs', 'cpuMs', 'cpuShare', 'peakMemoryBytes', 'pidsPeak', 'cpuPercent', 'memoryBytes', 'pids', 'restartCount', 'processes', 'changes', 'lines', 'volumesRemoved'] as const

const relPath = RELATIVE_PATH

const sandboxRef = {type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,80}$'} as const
const duration = {type: 'string', pattern: '^([0-9]+(\\.[0-9]+)?(ms|s|m))+$'} as const

const textMatch = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  description: 'Exactly one way to compare the text. Values are handlebars templates (e.g. "{{work}}").',
  properties: {
    equals: {type: 'string', description: 'the whole text, after trimming the final newline'},
    contains: {type: 'string', description: 'a substring that must appear'},
    notContains: {type: 'string', description: 'a substring that must not appear'},
    matches: {type: 'string', description: 'a JavaScript regular expression (multiline mode) that must match'},
  },
} as const

const verdicts = ['ok', 'nonzero-exit', 'signaled', 'timeout', 'cpu-time', 'memory', 'pids', 'output-limit', 'file-size', 'exec-failed', 'engine-error'] as const

const checkCommon = {
  name: {type: 'string', minLength: 1, maxLength: 120, description: 'What the check proves, shown in the checklist (e.g. "writes to a read-only volume fail").'},
  hint: {type: 'string', maxLength: 2000, description: 'Shown when this check fails: what to try. Default: none.'},
  of: {
    type: 'string',
    pattern: '^[a-z][a-z0-9-]{0,39}$',
    description: 'The `as` name of the action whose result this check looks at. Default: the last run action of the step.',
  },
} as const

function checkKind(key: string, schema: object) {
  return {required: [key], properties: {[key]: schema}}
}

const CHECK_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  description: 'One fact about the outcome. Exactly one of the kinds exitCode, verdict, stdout, stderr, fails, file, peakMemory, wallRatio.',
  properties: {
    ...checkCommon,
    exitCode: {
      description: 'The exit code (Docker convention: 128+N for signal N, 125 engine error, 126/127 exec failures), or {not: N}.',
      anyOf: [{type: 'integer', minimum: 0, maximum: 255}, {type: 'object', additionalProperties: false, required: ['not'], properties: {not: {type: 'integer', minimum: 0, maximum: 255}}}],
    },
    verdict: {enum: verdicts, description: 'How the run ended, as the engine judged it (ok, nonzero-exit, timeout, memory, pids, …).'},
    stdout: {...textMatch, description: 'The program\'s standard output. ' + textMatch.description},
    stderr: {...textMatch, description: 'The program\'s standard error. ' + textMatch.description},
    fails: {
      type: 'object',
      additionalProperties: false,
      required: ['errno'],
      description: 'An expected failure: the run exits non-zero and its error output names the error (e.g. EROFS → "Read-only file system").',
      properties: {errno: {enum: ['EROFS', 'EACCES', 'EPERM', 'ENOENT', 'ECONNREFUSED', 'ENETUNREACH', 'EAGAIN', 'ENOSPC', 'EEXIST', 'EINVAL', 'ESRCH']}},
    },
    file: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      description: 'A file in the work directory (e.g. one a sandbox wrote through a volume). Symlinks are never followed.',
      properties: {
        path: {...relPath, description: 'Path relative to the work directory (a handlebars template).'},
        exists: {type: 'boolean', default: true, description: 'Whether the file must exist. Default: true.'},
        hostUid: {
          type: 'object',
          additionalProperties: false,
          required: ['not'],
          description: 'The file\'s owner as the host sees it must not be this uid (e.g. {not: 0}: a file root wrote inside a sandbox is not owned by the host\'s root). Default: not checked.',
          properties: {not: {type: 'integer', minimum: 0}},
        },
        equals: textMatch.properties.equals,
        contains: textMatch.properties.contains,
        notContains: textMatch.properties.notContains,
        matches: textMatch.properties.matches,
      },
    },
    peakMemory: {
      type: 'object',
      additionalProperties: false,
      required: ['below'],
      description: 'A measured fact: the run\'s peak memory (resident set) stayed below a size.',
      properties: {below: {type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[kKmMgG]?$', description: 'A size such as 64m.'}},
    },
    wallRatio: {
      type: 'object',
      additionalProperties: false,
      required: ['slow', 'fast', 'atLeast'],
      description: 'A measured fact: the run `slow` took at least `atLeast` times the wall-clock time of the run `fast` (e.g. CPU throttling).',
      properties: {
        slow: {type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'The `as` name of the slower run.'},
        fast: {type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'The `as` name of the faster run.'},
        atLeast: {type: 'number', exclusiveMinimum: 0, description: 'The minimum ratio slow/fast.'},
      },
    },
    state: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      minProperties: 2,
      description: 'A sandbox\'s state when the check runs (as `lab sandbox inspect` shows it). Give at least one of status, exitCode, restartCount, oomKilled.',
      properties: {
        sandbox: {...sandboxRef, description: 'The sandbox, by the short name the lab gave it with --name (the lab id is prefixed).'},
        status: {enum: ['created', 'running', 'paused', 'restarting', 'exited', 'removed'], description: 'Its status; removed means it no longer exists.'},
        exitCode: {type: 'integer', minimum: 0, maximum: 255, description: 'Its last exit code.'},
        restartCount: {type: 'integer', minimum: 0, description: 'How many times its restart policy restarted it.'},
        oomKilled: {type: 'boolean', description: 'Whether the kernel OOM-killed a process of it (from its cgroup).'},
      },
    },
    volume: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      description: 'A managed volume of the lab: whether it exists, or a file in it (with path and one of equals, contains, notContains, matches).',
      properties: {
        name: {...sandboxRef, description: 'The volume\'s short name (the lab id is prefixed), as in -v {{name "data"}}:/path.'},
        exists: {type: 'boolean', default: true, description: 'Whether the volume (or, with path, the file) must exist. Default: true.'},
        path: {...relPath, description: 'A file inside the volume. Default: none (the volume itself).'},
        equals: textMatch.properties.equals,
        contains: textMatch.properties.contains,
        notContains: textMatch.properties.notContains,
        matches: textMatch.properties.matches,
      },
    },
    error: {...textMatch, description: 'An expected refusal by the engine: the action could not be done (e.g. a name already in use), and its error message matches. ' + textMatch.description},
    measure: {
      type: 'object',
      additionalProperties: false,
      required: ['metric'],
      minProperties: 2,
      description: 'A measured number of the action\'s outcome compared with a bound (give below, atLeast or both).',
      properties: {
        metric: {enum: METRICS, description: 'wallMs, cpuMs, cpuShare (CPU time per wall-clock time: 0.25 is a quarter of one CPU), peakMemoryBytes, pidsPeak (a run); cpuPercent, memoryBytes, pids (a stats sample); restartCount (a wait); processes (a top); changes (a profileDiff); lines (a logs); volumesRemoved (an rm).'},
        below: {type: 'number', description: 'The value must be below this.'},
        atLeast: {type: 'number', description: 'The value must be at least this.'},
      },
    },
    userns: {
      type: 'object',
      additionalProperties: false,
      required: ['mapped'],
      description: 'Whether the run\'s user namespace maps root inside onto an unprivileged host id (mapped: true) or shares the host\'s ids (--userns=host, mapped: false).',
      properties: {mapped: {type: 'boolean'}},
    },
  },
  oneOf: CHECK_KINDS.map((k) => ({required: [k]})),
} as const

const ACTION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'One thing done on the engine or in the work directory. Exactly one of ' + ACTION_KINDS.join(', ') + '.',
  properties: {
    run: {
      type: 'string',
      minLength: 1,
      maxLength: 8192,
      description:
        'The arguments of `lab sandbox run`, exactly as a student would type them after `lab sandbox run` (a handlebars template: {{work}} is the work directory, {{name "x"}} a sandbox name owned by the lab). Runs to completion through the engine; the output is captured.',
    },
    runFile: {
      ...relPath,
      description: 'A file in the work directory holding one `lab sandbox run …` command: the student\'s answer in an exercise, the reference solution (labs/<id>/solution/) in a walkthrough. $PWD and $WORK mean the work directory.',
    },
    mkdir: {...relPath, description: 'Create this directory (and its parents) in the work directory before the next action.'},
    exec: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox', 'command'],
      description: '`lab sandbox exec`: run a program inside a running sandbox of the lab. The result has its exit code and output.',
      properties: {
        sandbox: {...sandboxRef, description: 'The sandbox\'s short name (as given with --name; the lab id is prefixed).'},
        command: {type: 'string', minLength: 1, maxLength: 8192, description: 'The program and its arguments, quoted as in a shell (a handlebars template).'},
        user: {type: 'string', maxLength: 64, description: 'Run as this user (UID[:GID] or a name). Default: the sandbox\'s user.'},
      },
    },
    stop: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      description: '`lab sandbox stop`: SIGTERM, then SIGKILL after the grace period; no restart follows. The result\'s exit code is the sandbox\'s.',
      properties: {sandbox: sandboxRef, timeout: {type: 'number', minimum: 0, maximum: 60, default: 10, description: 'Grace period in seconds. Default: 10.'}},
    },
    kill: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      description: '`lab sandbox kill`: send a signal to the sandbox\'s program.',
      properties: {sandbox: sandboxRef, signal: {type: 'string', pattern: '^[A-Za-z0-9]{1,12}$', default: 'KILL', description: 'A signal name or number. Default: KILL.'}},
    },
    rm: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      description: '`lab sandbox rm`: remove a sandbox. The result\'s stdout lists the volumes removed with it (volumes: true), one a line.',
      properties: {
        sandbox: sandboxRef,
        force: {type: 'boolean', default: false, description: 'Stop it first if it runs (-f). Default: false.'},
        volumes: {type: 'boolean', default: false, description: 'Also remove its anonymous volumes (-v). Default: false.'},
      },
    },
    logs: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      description: '`lab sandbox logs`: the captured output of a sandbox, as the result\'s stdout and stderr.',
      properties: {sandbox: sandboxRef, tail: {type: 'integer', minimum: 0, description: 'Only the last N lines. Default: all.'}},
    },
    wait: {
      type: 'object',
      additionalProperties: false,
      required: ['sandbox'],
      description: 'Wait until a sandbox has stopped for good (`lab sandbox wait`; the result\'s exit code is the sandbox\'s), is running, has printed a line containing `log`, or has been restarted `restarts` times. Fails after `timeout`.',
      properties: {
        sandbox: sandboxRef,
        until: {enum: ['exited', 'running', 'log', 'restarts'], default: 'exited', description: 'What to wait for. Default: exited.'},
        log: {type: 'string', minLength: 1, maxLength: 200, description: 'With until: log, the text a line of its output must contain.'},
        restarts: {type: 'integer', minimum: 1, maximum: 100, description: 'With until: restarts, how many restarts.'},
        timeout: {...duration, default: '20s', description: 'Give up after this long, e.g. 10s. Default: 20s.'},
      },
    },
    top: {type: 'object', additionalProperties: false, required: ['sandbox'], description: '`lab sandbox top`: the processes of a running sandbox, one a line (PID PPID STAT CMD), as the result\'s stdout; metric processes.', properties: {sandbox: sandboxRef}},
    stats: {type: 'object', additionalProperties: false, required: ['sandbox'], description: '`lab sandbox stats --no-stream`: one sample (half a second) of CPU %, memory and processes; metrics cpuPercent, memoryBytes, pids.', properties: {sandbox: sandboxRef}},
    volumeCreate: {...sandboxRef, description: '`lab volume create`: a named volume for the lab (the lab id is prefixed).'},
    volumeRm: {...sandboxRef, description: '`lab volume rm`: remove a named volume of the lab.'},
    profileDiff: {
      type: 'object',
      additionalProperties: false,
      required: ['from', 'to'],
      description: '`lab profile diff FROM TO`, through the seccomp toolkit: what changes going from one profile to the other on this host, one change a line ("+ name" now allowed, "- name" now denied, "~ name" changed) as the result\'s stdout.',
      properties: {
        from: {type: 'string', pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'A built-in profile name (see `lab profile list`).'},
        to: {type: 'string', pattern: '^[a-z][a-z0-9-]{0,63}$', description: 'A built-in profile name.'},
        cap: {type: 'array', items: {type: 'string', pattern: '^[A-Z_]{2,32}$'}, maxItems: 40, description: 'Capabilities the sandbox keeps (they change what a profile allows). Default: none.'},
      },
    },
    command: {
      type: 'string',
      minLength: 1,
      maxLength: 8192,
      pattern: '^\\s*(image|sandbox|build|network)\\s',
      description:
        'A `lab` verb as typed after `lab` (a handlebars template; {{port "registry"}} is the port of the lab\'s registry): `sandbox run …`, or one of the image verbs `image pull|push|ls|inspect|history|tag|rm|prune|save|load|import|export` and `sandbox commit|diff|export`, `build [flags] CONTEXT`, and the network verbs `network create|ls|inspect|rm|prune|connect|disconnect` and `sandbox port` (network names are the lab\'s, prefixed as sandbox names are). It runs on the lab\'s private state directory (never the user\'s images); files it reads or writes are confined to the work directory. The result has its exit code and output.',
    },
    commandFile: {
      ...relPath,
      description: 'A file in the work directory holding one `lab …` command (a verb `command` takes): the student\'s answer in an exercise, the reference solution in a walkthrough. $PWD and $WORK mean the work directory, $REGISTRY the lab\'s registry (127.0.0.1:PORT).',
    },
    archive: {
      type: 'object',
      additionalProperties: false,
      required: ['to'],
      description: 'Write a tarball of a small file tree made by the lab (owner 0:0, fixed times): the host\'s static busybox with applet links in /bin, text files and empty directories. Feed it to `lab image import`. Needs the static-busybox requirement when busybox is given.',
      properties: {
        to: {...relPath, description: 'The tarball, relative to the work directory (replaced if it exists).'},
        busybox: {type: 'array', maxItems: 100, uniqueItems: true, items: {type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,30}$'}, description: 'Applets to link to /bin/busybox, e.g. [sh, ls, cat]. Default: no busybox.'},
        files: {type: 'object', maxProperties: 50, propertyNames: {pattern: '^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$', maxLength: 99}, additionalProperties: {type: 'string', maxLength: 65536}, description: 'Text files: path in the tree → content. Default: none.'},
        dirs: {type: 'array', maxItems: 50, uniqueItems: true, items: {type: 'string', pattern: '^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$', maxLength: 99}, description: 'Empty directories, e.g. [tmp, proc]. Default: none.'},
      },
    },
    as: {
      type: 'string',
      pattern: '^[a-z][a-z0-9-]{0,39}$',
      description: 'A name for the result, for checks (`of`) and later instructions ({{results.NAME.stdout}}). Default: the action\'s position, a1, a2, …',
    },
    input: {type: 'string', maxLength: 65536, description: 'Text written to the program\'s standard input. Default: none (it reads /dev/null).'},
    show: {type: 'boolean', default: true, description: 'Print the command and its output in the walkthrough. Default: true.'},
  },
  oneOf: ACTION_KINDS.map((k) => ({required: [k]})),
} as const

export const LAB_SCHEMA = {
  $id: 'https://lab.dev/schemas/lab.json',
  title: 'lab course lab (lab.yaml)',
  description: 'A course lab: instructions, actions on the sandbox engine, and checks of their outcome. Run it with `lab run ID`, check your own work with `lab check ID`.',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'chapter', 'source', 'estimatedMinutes', 'steps'],
  properties: {
    $schema: {type: 'string', description: 'The schema for editors; ignored by lab.'},
    id: {type: 'string', pattern: '^[a-z][a-z0-9-]{1,39}$', description: 'The lab\'s id; equals its directory name under labs/. Sandboxes the lab creates are named ID-….'},
    title: {type: 'string', minLength: 1, maxLength: 120, description: 'A short title, shown by `lab list`.'},
    chapter: {type: 'string', minLength: 1, maxLength: 40, description: 'The course chapter this lab belongs to, e.g. "4".'},
    source: {type: 'string', minLength: 1, maxLength: 300, description: 'Which course material section the lab teaches, e.g. "Docker in Action, ch. 4: Persistent storage and shared state with volumes".'},
    estimatedMinutes: {type: 'integer', minimum: 1, maximum: 600, description: 'How long a student needs for the exercises, in minutes.'},
    intro: {...relPath, description: 'A Markdown handlebars template shown before the first step by `lab show`. Default: none.'},
    writable: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      default: [],
      items: relPath,
      description:
        'Directories of the work directory that sandboxes write to through bind mounts. They are created (mode 0777) with the work directory, because root inside a sandbox is an unprivileged id on the host. Default: [].',
    },
    steps: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      description: 'The steps, in order. The walkthrough runs every step; `lab check` runs the steps that have an exercise.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title'],
        properties: {
          id: {type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'A short id, unique in the lab (lab check --step accepts it or the step number).'},
          title: {type: 'string', minLength: 1, maxLength: 120, description: 'The step\'s title in the checklist.'},
          summary: {type: 'string', maxLength: 300, description: 'One line printed under the title in the walkthrough. Default: none.'},
          read: {...relPath, description: 'The instructions: a Markdown handlebars template relative to the lab directory, e.g. steps/01-bind.md. Default: none.'},
          requires: {
            type: 'array',
            uniqueItems: true,
            default: [],
            items: {enum: FEATURES},
            description: 'Engine features the step needs beyond the core. A step whose feature the engine lacks is shown as unavailable, with the reason, never faked. Default: [].',
          },
          actions: {type: 'array', maxItems: 30, default: [], items: ACTION_SCHEMA, description: 'What the step does, in order. Default: [].'},
          exercise: {
            type: 'object',
            additionalProperties: false,
            required: ['file', 'task'],
            description: 'Makes the step an exercise: the student writes `file` in the work directory; `lab check` then runs the step against it. The reference answer is labs/<id>/solution/<file>. Default: none.',
            properties: {
              file: {...relPath, description: 'The file the student writes, relative to the work directory.'},
              task: {type: 'string', minLength: 1, maxLength: 2000, description: 'The task in one paragraph (a handlebars template).'},
            },
          },
          checks: {type: 'array', maxItems: 30, default: [], items: CHECK_SCHEMA, description: 'Facts about the outcome that must hold. Default: [].'},
        },
      },
    },
  },
} as const
