#!/usr/bin/env node
// Builds lab: the native helper (with the machine's C compiler), the TypeScript, and
// the ahead-of-time compiled schema validators. Runs from `npm ci` (prepare) and `npm run build`.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync, existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const quiet = {cwd: root, stdio: ['ignore', 'inherit', 'inherit']}

// Each stage says what it does (the whole build takes 15-40 s on a small machine), so
// `npm ci` does not sit silent. LAB_BUILD_QUIET=1 keeps it quiet.
const started = Date.now()
function stage(msg) {
  if (!process.env.LAB_BUILD_QUIET) console.log(`lab build: ${msg}`)
}

function fail(msg) {
  console.error(`lab build: ${msg}`)
  process.exit(1)
}

function findCompiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    const r = spawnSync(cc, ['--version'], {stdio: 'ignore'})
    if (r.status === 0) return cc
  }
  return null
}

const cc = findCompiler()
if (!cc) {
  fail('no C compiler found; lab builds its sandbox helper from source. Install one and run `npm ci` again: ' +
    'Debian/Ubuntu: apt-get install gcc make · Fedora: dnf install gcc make · Alpine: apk add build-base')
}
if (spawnSync('make', ['--version'], {stdio: 'ignore'}).status !== 0) {
  fail('`make` is missing; install it (Debian/Ubuntu: apt-get install make) and run `npm ci` again')
}
stage(`compiling the sandbox helper (src/sandbox-native) with ${cc}…`)
const mk = spawnSync('make', ['-s', '-C', 'src/sandbox-native', `CC=${cc}`], quiet)
if (mk.status !== 0) fail('building the sandbox helper failed (see the compiler output above)')

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
if (!existsSync(tsc)) fail('TypeScript is not installed; run `npm ci` (it installs the dev dependencies)')
stage('compiling the TypeScript…')
try {
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], quiet)
} catch {
  fail('TypeScript compilation failed (see above)')
}

stage('compiling the schema validators and the command manifest…')
// Standalone validators: start-up then never compiles a schema at run time.
const {default: Ajv} = await import('ajv')
const {default: standaloneCode} = await import('ajv/dist/standalone/index.js')
const {SCHEMAS} = await import(pathToFileURL(join(root, 'dist', 'schemas', 'index.js')).href)
mkdirSync(join(root, 'dist', 'validators'), {recursive: true})
mkdirSync(join(root, 'schemas'), {recursive: true})
for (const [name, schema] of Object.entries(SCHEMAS)) {
  const ajv = new Ajv({code: {source: true, esm: true}, allErrors: true, strict: false})
  const validate = ajv.compile(schema)
  // ajv's ESM output still require()s its small runtime helpers: give it a require.
  const code = "import {createRequire} from 'node:module';const require = createRequire(import.meta.url);" + standaloneCode(ajv, validate)
  writeFileSync(join(root, 'dist', 'validators', `${name}.js`), code)
  // the same as CommonJS, for the bundled run path (bin/fast-start.cjs), which loads
  // the one it needs synchronously
  const cjs = new Ajv({code: {source: true, esm: false}, allErrors: true, strict: false})
  writeFileSync(join(root, 'dist', 'validators', `${name}.cjs`), standaloneCode(cjs, cjs.compile(schema)))
  writeFileSync(join(root, 'schemas', `${name}.schema.json`), JSON.stringify({$schema: 'http://json-schema.org/draft-07/schema#', ...schema}, null, 2) + '\n')
}

// oclif's command manifest: without it every invocation imports every command module
// (and grading, CI and labs with them) just to find the one it runs.
const {Plugin} = await import('@oclif/core')
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest))
// `lab sandbox run`'s and `lab ci`'s paths, each as one file with V8's compiled code beside
// it (bin/fast-start.cjs): every lab step, CI step and grading test starts a sandbox, and
// resolving, reading and compiling their modules (60-odd for a run, twice that for CI) was
// most of their start-up. import.meta.url keeps pointing two levels below the package root
// (dist/run/), as it does for the modules bundled.
stage('bundling the run and CI paths and caching their compiled code…')
const esbuild = await import('esbuild')
mkdirSync(join(root, 'dist', 'run'), {recursive: true})
// The validators every run of a path checks with go into its bundle (and so into the code
// cache); any other is read when needed.
const BUNDLES = {
  'sandbox-run': {validators: ['sandbox-spec'], exports: 'sandboxRun', from: '../cli/sandbox-run.js'},
  // the YAML parser is bundled for the workflow's steps anyway: src/util/yaml-load.ts uses that copy
  // the queue's client (--queue: bullmq, ioredis, two thirds of the bundle) and the Dockerfile
  // parser (docker/build-push-action) are required from node_modules when used
  ci: {validators: ['sandbox-spec', 'ci'], exports: 'ciFast', from: '../cli/ci.js', yaml: true, external: ['bullmq', 'ioredis', 'dockerfile-ast']},
}
for (const [name, b] of Object.entries(BUNDLES)) {
  const entry = join(root, 'dist', 'run', `${name}-entry.js`)
  writeFileSync(entry, b.validators.map((v, i) => `import v${i} from '../validators/${v}.cjs'\n__lab_bundled_validators['${v}'] = {default: v${i}}\n`).join('') +
    (b.yaml ? "import * as yaml from 'yaml'\n__lab_bundled_yaml = yaml\n" : '') + `export {${b.exports}} from '${b.from}'\n`)
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(root, 'dist', 'run', `${name}.cjs`),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['@oclif/core', ...(b.external ?? [])],
    define: {'import.meta.url': '__lab_bundle_url'},
    // ASCII only, so fast-start.cjs reads it as latin1 (no UTF-8 decoding); no comments or
    // indentation to read (names stay, for stack traces)
    charset: 'ascii',
    legalComments: 'none',
    minifyWhitespace: true,
    banner: {js: "const __lab_bundle_url = require('node:url').pathToFileURL(__filename).href; const __lab_bundled_validators = {}; let __lab_bundled_yaml; const __lab_validator = (name) => __lab_bundled_validators[name] ?? require(require('node:path').join(__dirname, '..', 'validators', name + '.cjs'));"},
    logLevel: 'error',
  })
  // The cache holds what a run compiles: made after a real run (`-- true`, a 1-step
  // workflow) where this build may start sandboxes (root), after loading only otherwise.
  const warm = spawnSync(process.execPath, [join(root, 'scripts', 'code-cache.cjs'), name], {cwd: root, stdio: 'ignore'})
  if (warm.status !== 0) stage(`(no code cache for ${name}: it starts without it)`)
}

const onPath = spawnSync('sh', ['-c', 'command -v lab'], {stdio: 'ignore'}).status === 0
stage(`done in ${((Date.now() - started) / 1000).toFixed(1)} s${onPath ? '' : '; `npm link` puts `lab` on your PATH'}`)
