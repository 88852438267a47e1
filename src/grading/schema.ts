/**
 * The grading spec: what a teacher writes to grade submissions (grading.yaml, standalone
 * or beside a lab's lab.yaml). The schema is compiled ahead of time (scripts/build.mjs)
 * and published as schemas/grading.schema.json; every field says what it is for and its
 * default. Meaning the schema cannot express (unique names, regexes that compile, files
 * that exist and are safe) is checked in load.ts.
 */
import {RELATIVE_PATH} from '../schemas/fragments.js'

export type Visibility = 'visible' | 'hidden' | 'after_due_date'

export interface RunLimits {
  /** wall-clock limit, e.g. "2s" */
  time?: string
  /** memory limit, e.g. "256m" */
  memory?: string
  /** most processes and threads at once */
  pids?: number
  /** bytes of stdout+stderr kept; beyond it the run ends, e.g. "1m" */
  output?: string
  /** largest file the program may write, e.g. "8m" */
  fileSize?: string
}

export interface TextCheck {
  equals?: string
  /** a file of the grading spec (relative to it) holding the expected text */
  equalsFile?: string
  contains?: string
  notContains?: string
  matches?: string
  numeric?: {value: number; tolerance?: number; relative?: boolean}
}

export interface FileCheck extends TextCheck {
  path: string
  exists?: boolean
}

export interface CheckerCheck {
  /** the checker's command (argv), run in its own sandbox; exit 0 passes */
  command: string[]
  /** files of the spec this checker sees at /grader (besides every test's files) */
  files?: string[]
  /** time limit of the checker, e.g. "5s" */
  time?: string
}

export interface Check {
  name?: string
  exitCode?: number
  stdout?: TextCheck
  stderr?: TextCheck
  file?: FileCheck
  checker?: CheckerCheck
}

export interface GradingTest {
  name: string
  points: number
  visibility?: Visibility
  /** the command, run with `sh -c` in the submission's directory (/work) */
  run: string
  /** text given on standard input, or a file of the spec with it */
  stdin?: string
  stdinFile?: string
  limits?: RunLimits
  checks: Check[]
  /** files of the spec this test alone sees at /grader (besides the top-level files) */
  files?: string[]
  /** the Exercism task this test belongs to */
  task?: number
  /** the spec's services this test runs beside (default: all of them; [] for none) */
  services?: string[]
  /** the image of lab's store this test (and its checkers) runs on, instead of the spec's */
  image?: string
}

/** A helper sandbox beside a test on a private network (services.ts): a student's server, a grader's client. */
export interface GradingService {
  /** its name on the network (a DNS label): the test reaches it as NAME */
  name: string
  /** the command, run with `sh -c` in a fresh copy of the built submission (/work) */
  run: string
  /** when it is ready: a TCP port that accepts, or a command run inside it that exits 0 */
  ready?: {port?: number; command?: string; timeout?: string}
  limits?: RunLimits
  /** the image it runs on, instead of the spec's */
  image?: string
}

/** How the tests of a framework group are scored: by exact name or by pattern, first match wins. */
export interface FrameworkScore {
  name?: string
  match?: string
  points?: number
  visibility?: Visibility
  task?: number
}

export interface FrameworkGroup {
  /** the group's name, shown when the whole group could not run */
  name: string
  framework: 'pytest' | 'unittest' | 'node:test' | 'tap' | 'junit-xml'
  /** the teacher's test files (of the spec), copied into /work under their base names before each run */
  files?: string[]
  /** the command (tap, junit-xml; optional for the others): run with `sh -c` in /work, the tests left to run as arguments on a re-run */
  run?: string
  /** junit-xml: the file the command writes, relative to /work */
  report?: string
  /** a directory of the spec holding a solution that passes: its run lists the tests (names and order) */
  reference?: string
  /** points of each test unless `scores` says otherwise; default 1 */
  points?: number
  visibility?: Visibility
  scores?: FrameworkScore[]
  /** `time` is per test; memory, pids, output and fileSize hold for the whole run */
  limits?: RunLimits
  /** the spec's services the run has beside it (default: all of them; [] for none) */
  services?: string[]
  /** the image the group runs on, instead of the spec's */
  image?: string
}

export type GradingEntry = GradingTest | FrameworkGroup
export const isGroup = (t: GradingEntry): t is FrameworkGroup => 'framework' in t

export interface GradingSpec {
  title: string
  /** files and directories of the spec (relative) that every sandbox sees read-only under /grader */
  files?: string[]
  /** files a submission must contain; a missing one is reported before anything runs */
  required?: string[]
  build?: {run: string; limits?: RunLimits}
  /** limits of every test unless the test sets its own */
  limits?: RunLimits
  /** helper sandboxes started beside each test on a private network of its own */
  services?: GradingService[]
  /** the image of lab's store every sandbox runs on (build, tests, checkers, services) unless one names its own; default: the host's system directories */
  image?: string
  tests: GradingEntry[]
}

const relPath = RELATIVE_PATH
/** a service's name: one DNS label, so it is its host name on the network */
const SERVICE_NAME = '^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$'

/** An image of lab's store, as `lab sandbox run IMAGE` takes it (NAME[:TAG], NAME@sha256:…, an id). */
const IMAGE = {type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$', description: 'An image of lab\'s store (lab image pull/load/import/build put it there; lab grade never pulls): NAME[:TAG], NAME@sha256:DIGEST or an image id. Resolved once when the batch starts, so every submission runs on the same image even if the tag moves.'} as const

const duration = {type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)$', description: 'A duration: 500ms, 2s, 1.5m.'} as const
const size = {type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$', description: 'A size: 512k, 64m, 1g (bytes without a unit).'} as const

const LIMITS = {
  type: 'object',
  additionalProperties: false,
  description: 'Resource limits of one run. Defaults: time 5s, memory 256m, pids 64, output 1m, fileSize 16m (a build: time 60s, memory 1g, pids 256).',
  properties: {
    time: {...duration, description: 'Wall-clock limit; a run within 10% of it is run once more before it counts as a timeout.'},
    memory: {...size, description: 'Memory limit (RAM, no swap); at least 6m.'},
    pids: {type: 'integer', minimum: 1, maximum: 4096, description: 'Most processes and threads at once (a fork bomb stops here).'},
    output: {...size, description: 'Bytes of standard output and error kept; the run ends when more come.'},
    fileSize: {...size, description: 'Largest file the program may write (RLIMIT_FSIZE).'},
  },
} as const

const TEXT_KINDS = ['equals', 'equalsFile', 'contains', 'notContains', 'matches', 'numeric'] as const

const textCheck = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'How to compare a text. Several keys all have to hold. `equals` ignores trailing spaces at line ends and trailing newlines.',
  properties: {
    equals: {type: 'string', description: 'the whole text'},
    equalsFile: {...relPath, description: 'a file of the grading spec holding the whole expected text'},
    contains: {type: 'string', description: 'a substring that must appear'},
    notContains: {type: 'string', description: 'a substring that must not appear'},
    matches: {type: 'string', maxLength: 1000, description: 'a JavaScript regular expression (multiline) that must match'},
    numeric: {
      type: 'object',
      additionalProperties: false,
      required: ['value'],
      description: 'the text (trimmed) is a number within tolerance of value',
      properties: {
        value: {type: 'number'},
        tolerance: {type: 'number', minimum: 0, description: 'largest allowed difference; default 1e-6'},
        relative: {type: 'boolean', description: 'tolerance is a fraction of |value|; default false'},
      },
    },
  },
} as const

const CHECK = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  description: 'One fact about the run. Exactly one of exitCode, stdout, stderr, file, checker (with an optional name).',
  properties: {
    name: {type: 'string', minLength: 1, maxLength: 120, description: 'Shown in reports; default: derived from the kind.'},
    exitCode: {type: 'integer', minimum: 0, maximum: 255, description: 'The exit code the program must end with.'},
    stdout: {...textCheck, description: 'Standard output. ' + textCheck.description},
    stderr: {...textCheck, description: 'Standard error. ' + textCheck.description},
    file: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      description: 'A file the program leaves in its directory, read without following links once every process of the run has ended.',
      properties: {
        path: {...relPath, description: 'relative to the submission directory'},
        exists: {type: 'boolean', description: 'false: the file must not exist; default true'},
        ...textCheck.properties,
      },
    },
    checker: {
      type: 'object',
      additionalProperties: false,
      required: ['command'],
      description: 'A program of the teacher, run in its own sandbox after the test: it sees the run\'s outputs read-only in /check (stdout, stderr, exit-code, work/) and the spec\'s files in /grader; exit 0 passes, and its first line of output is the message.',
      properties: {
        command: {type: 'array', minItems: 1, maxItems: 64, items: {type: 'string', minLength: 1, maxLength: 4096}},
        files: {type: 'array', maxItems: 256, uniqueItems: true, items: relPath, description: 'Files of the spec this checker alone sees under /grader (with every test\'s own files): a checker\'s source, expected answers. Tests never see them.'},
        time: {...duration, description: 'the checker\'s wall-clock limit; default 10s'},
      },
    },
  },
  oneOf: ['exitCode', 'stdout', 'stderr', 'file', 'checker'].map((k) => ({required: [k]})),
} as const

const TEST = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'points', 'run', 'checks'],
  properties: {
    name: {type: 'string', minLength: 1, maxLength: 120, pattern: '^[^\\u0000-\\u001f]+$', description: 'Unique within the spec; shown in every report.'},
    points: {type: 'number', minimum: 0, maximum: 10000, description: 'Awarded when every check passes (a checker may award a part).'},
    visibility: {
      enum: ['visible', 'hidden', 'after_due_date'],
      description: 'Who sees the result in student-facing reports (Gradescope, Exercism): visible (default), hidden (teacher only), after_due_date.',
    },
    run: {type: 'string', minLength: 1, maxLength: 8192, description: 'The command, run with `sh -c` in the submission directory /work (a fresh copy for each test).'},
    stdin: {type: 'string', maxLength: 1048576, description: 'Text given on standard input. Default: none (/dev/null).'},
    stdinFile: {...relPath, description: 'A file of the spec given on standard input.'},
    limits: LIMITS,
    checks: {type: 'array', minItems: 1, maxItems: 64, items: CHECK},
    files: {type: 'array', maxItems: 256, uniqueItems: true, items: relPath, description: 'Files of the spec this test alone sees under /grader (besides the top-level files), e.g. a hidden input. Other tests never see them.'},
    task: {type: 'integer', minimum: 1, maximum: 1000, description: 'The Exercism task this test belongs to (task_id).'},
    services: {type: 'array', maxItems: 8, uniqueItems: true, items: {type: 'string', pattern: SERVICE_NAME}, description: 'The services (top-level `services`) this test runs beside, on a private network of its own. Default: all of them; [] for none (no network).'},
    image: {...IMAGE, description: 'The image this test and its checkers run on, instead of the spec\'s `image`. ' + IMAGE.description},
  },
  not: {required: ['stdin', 'stdinFile']},
} as const

const SERVICE = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'run'],
  description: 'A helper sandbox (a student\'s server, a grader\'s fake) started for each test that uses it, on an --internal network of that test alone, as GitHub Actions\' job services or a compose file\'s services. Same hardening as a test (strict seccomp profile, remapped ids, limits); stopped and removed with its network when the test ends.',
  properties: {
    name: {type: 'string', pattern: SERVICE_NAME, description: 'Its host name on the network (a DNS label: a-z, 0-9, "-"); the test reaches it as NAME, e.g. http://server:8080.'},
    run: {type: 'string', minLength: 1, maxLength: 8192, description: 'The command, with `sh -c` in /work: a fresh copy of the built submission (and /grader, the spec\'s files, read-only).'},
    ready: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      description: 'When the test may start. Without it the test starts as soon as the service runs.',
      properties: {
        port: {type: 'integer', minimum: 1, maximum: 65535, description: 'A TCP port of the service that accepts a connection.'},
        command: {type: 'string', minLength: 1, maxLength: 4096, description: 'A command run inside the service (`sh -c`) until it exits 0, like a health check.'},
        timeout: {...duration, description: 'How long to wait; default 10s. A service not ready by then fails the test with the verdict service-not-ready.'},
      },
    },
    limits: {...LIMITS, description: 'Memory, pids, output and fileSize of the service (defaults: 256m, 64, 1m, 16m); time: the most it may run (default: long enough for the test and its re-run).'},
    image: {...IMAGE, description: 'The image the service runs on, instead of the spec\'s `image`. ' + IMAGE.description},
  },
} as const

const VISIBILITY = {
  enum: ['visible', 'hidden', 'after_due_date'],
  description: 'Who sees the result in student-facing reports (Gradescope, Exercism): visible (default), hidden (teacher only), after_due_date.',
} as const

const GROUP = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'framework'],
  description: 'A test file run once per submission by its framework; every test it holds is a scored test.',
  properties: {
    name: {type: 'string', minLength: 1, maxLength: 120, pattern: '^[^\\u0000-\\u001f]+$', description: 'The group, shown when it could not run as a whole.'},
    framework: {enum: ['pytest', 'unittest', 'node:test', 'tap', 'junit-xml'], description: 'pytest, unittest and node:test run through lab\'s own reporter (per-test timeout, output and assertion); tap reads TAP from standard output; junit-xml reads the `report` file the command writes.'},
    files: {type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: relPath, description: 'The teacher\'s test files (of the spec), copied into /work under their base names before each run (the submission\'s files of the same name are replaced). Required for pytest, unittest and node:test.'},
    run: {type: 'string', minLength: 1, maxLength: 8192, description: 'The command, with `sh -c` in /work; when a run is re-started after a test was stopped, the names of the tests left are its arguments. Required for tap and junit-xml.'},
    report: {...relPath, description: 'junit-xml: the JUnit XML file the command writes, relative to /work.'},
    reference: {...relPath, description: 'A directory of the spec with a solution that passes every test: run once per batch, it lists the tests (names and order) and proves the spec works.'},
    points: {type: 'number', minimum: 0, maximum: 10000, description: 'Points of each test unless `scores` says otherwise; default 1.'},
    visibility: VISIBILITY,
    scores: {
      type: 'array',
      maxItems: 1000,
      description: 'Points, visibility and Exercism task per test, by exact name or regular expression; the first entry that matches applies.',
      items: {
        type: 'object',
        additionalProperties: false,
        minProperties: 2,
        properties: {
          name: {type: 'string', minLength: 1, maxLength: 500},
          match: {type: 'string', minLength: 1, maxLength: 1000, description: 'a JavaScript regular expression matched against the test name'},
          points: {type: 'number', minimum: 0, maximum: 10000},
          visibility: VISIBILITY,
          task: {type: 'integer', minimum: 1, maximum: 1000},
        },
        oneOf: [{required: ['name']}, {required: ['match']}],
      },
    },
    limits: {...LIMITS, description: 'time: each test\'s limit (default 5s); memory, pids, output and fileSize: the whole run.'},
    services: {type: 'array', maxItems: 8, uniqueItems: true, items: {type: 'string', pattern: SERVICE_NAME}, description: 'The services (top-level `services`) the run has beside it, started once for the run (and its re-runs) on a private network of its own. Default: all of them; [] for none (no network).'},
    image: {...IMAGE, description: 'The image the group runs on (its framework\'s interpreter comes from it), instead of the spec\'s `image`. ' + IMAGE.description},
  },
  allOf: [{if: {properties: {framework: {enum: ['tap', 'junit-xml']}}}, then: {required: ['run']}, else: {required: ['files']}}, {if: {properties: {framework: {const: 'junit-xml'}}}, then: {required: ['report']}}],
} as const

export const GRADING_SCHEMA = {
  $id: 'https://lab.dev/schemas/grading.json',
  title: 'lab grading spec',
  description: 'How `lab grade` grades submissions: an optional build, then tests with points, limits and checks. Each test runs in a fresh sandbox (strict seccomp profile, no network, remapped ids).',
  type: 'object',
  additionalProperties: false,
  required: ['title', 'tests'],
  properties: {
    $schema: {type: 'string'},
    title: {type: 'string', minLength: 1, maxLength: 200, description: 'The assignment, shown in reports.'},
    files: {
      type: 'array',
      maxItems: 256,
      uniqueItems: true,
      items: relPath,
      description: 'Files and directories of the spec (relative to it) every sandbox sees read-only under /grader, e.g. test inputs or a checker. Expected outputs used only by checks need not be listed: they never enter a sandbox.',
    },
    required: {type: 'array', maxItems: 256, uniqueItems: true, items: relPath, description: 'Files a submission must contain; one without them scores 0 with a clear message.'},
    build: {
      type: 'object',
      additionalProperties: false,
      required: ['run'],
      description: 'Compiles the submission once, in its own sandbox, before the tests; its time does not count against them. A failed build scores every test 0 and shows the build output.',
      properties: {run: {type: 'string', minLength: 1, maxLength: 8192, description: 'run with `sh -c` in /work'}, limits: LIMITS},
    },
    limits: LIMITS,
    services: {type: 'array', minItems: 1, maxItems: 8, items: SERVICE, description: 'Helper sandboxes started beside each test on a private network (see docs/grading.md).'},
    image: {...IMAGE, description: 'The toolchain image every sandbox of the spec runs on (build, tests, checkers, services) unless one names its own, as Gradescope\'s and Exercism\'s per-assignment images. Default: the host\'s system directories, read-only. ' + IMAGE.description},
    tests: {type: 'array', minItems: 1, maxItems: 500, items: {oneOf: [TEST, GROUP]}},
  },
} as const

export const TEXT_CHECK_KINDS = TEXT_KINDS
