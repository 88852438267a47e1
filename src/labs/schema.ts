/**
 * The lab format: labs/<id>/lab.yaml. The schema is compiled ahead of time (see
 * scripts/build.mjs) and published as schemas/lab.schema.json so editors complete it;
 * every field says what it is for and its default. Meaning the schema cannot express
 * (references between steps, safe fixture paths) is checked in load.ts.
 */

export type TextMatch = {equals?: string; contains?: string; notContains?: string; matches?: string}

export interface RunAction {
  /** `lab sandbox run` arguments (a handlebars template), e.g. `-v {{work}}/docs:/srv:ro -- ls /srv` */
  run?: string
  /** a file in the work directory holding one `lab sandbox run …` command (the student's answer) */
  runFile?: string
  /** create a directory in the work directory (host side) */
  mkdir?: string
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
  file?: {path: string; exists?: boolean} & TextMatch
  peakMemory?: {below: string}
  wallRatio?: {slow: string; fast: string; atLeast: number}
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
export const FEATURES = ['lifecycle', 'named-volumes', 'limits', 'seccomp-profiles', 'userns', 'joined-namespaces', 'io-limits'] as const
export type Feature = (typeof FEATURES)[number]

export const CHECK_KINDS = ['exitCode', 'verdict', 'stdout', 'stderr', 'fails', 'file', 'peakMemory', 'wallRatio'] as const
export const ACTION_KINDS = ['run', 'runFile', 'mkdir'] as const

const relPath = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  // relative, no "." or ".." components, no empty components, no NUL
  pattern: '^(?!/)(?!.*(^|/)\\.{1,2}(/|$))(?!.*//)[^\\u0000]+$',
} as const

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
  },
  oneOf: CHECK_KINDS.map((k) => ({required: [k]})),
} as const

const ACTION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'One thing done on the engine or in the work directory. Exactly one of run, runFile, mkdir.',
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
